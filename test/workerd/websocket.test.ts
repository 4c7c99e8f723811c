import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { until } from '../support/until.js';
import { startTestWorker, type Worker } from '../support/workerd.js';
import { refusedHandshake, WsBackend, type SeenClose } from '../support/ws-backend.js';

/** The Worker passes a handshake to its instance with fetch and returns the 101's `webSocket`: workerd relays it from there. */
describe('WebSocket in workerd', () => {
  let cluster: EtcdCluster;
  let backend: WsBackend;
  let worker: Worker;
  let origin: string;

  beforeAll(async () => {
    [cluster, backend] = await Promise.all([startEtcd(), WsBackend.start()]);
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    const record = nativeLayout().encode({ service: 'chat', url: backend.url });
    await etcd.put(record.key, record.value);
    worker = await startTestWorker('etcd-edge-websocket', new URL('../../src/adapters/worker/index.ts', import.meta.url), {
      ETCD_ENDPOINTS: cluster.endpoints.join(','),
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
    });
    origin = (await worker.url).origin;
  }, 90_000);

  afterAll(async () => {
    await worker?.dispose();
    await backend?.close();
    await cluster?.close();
  });

  function open(path: string): Promise<{ socket: WebSocket; messages: string[]; closed: Promise<SeenClose> }> {
    const socket = new WebSocket(`${origin.replace('http', 'ws')}${path}`);
    const messages: string[] = [];
    socket.on('message', (data) => messages.push(data.toString()));
    const closed = new Promise<SeenClose>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve({ socket, messages, closed }));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`answered ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  it('relays both ways with the prefix stripped and the forwarding fields added', async () => {
    const client = await open('/svc/chat/room/1?id=7');
    client.socket.send('hello');
    client.socket.send('headers');
    await until(() => client.messages.length === 2, 10_000);
    expect(client.messages[0]).toBe('echo:hello');
    const seen = JSON.parse(client.messages[1]!) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/room/1?id=7');
    expect(seen.headers.via).toMatch(/etcd-edge-/);
    expect(seen.headers['x-request-id']).toMatch(/\S/);
    expect(seen.headers.forwarded).toContain('proto=http');
    client.socket.close(4002, 'client says bye');
    expect(await client.closed).toEqual({ code: 4002, reason: 'client says bye' });
    await until(() => backend.closes.some((c) => c.code === 4002), 10_000);
    expect(backend.closes.find((c) => c.code === 4002)).toEqual({ code: 4002, reason: 'client says bye' });
  });

  it("passes the instance's close code and reason to the client", async () => {
    const client = await open('/svc/chat/');
    client.socket.send('close-me');
    expect(await client.closed).toEqual({ code: 4001, reason: 'server says bye' });
  });

  it('answers the usual JSON 503 when no instance is registered', async () => {
    const refused = await refusedHandshake(`${origin}/svc/nobody-here/`);
    expect(refused.status).toBe(503);
    expect(refused.body.error?.code).toBe('NO_INSTANCES');
  });
});
