import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { nodeConfig, startNodeGateway, type NodeGateway } from '../src/adapters/node/index.js';
import { EtcdClient, nativeLayout } from '../src/index.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { ADMIN_TOKEN } from './support/gateway-scenarios.js';
import { startServeProcess } from './support/node-gateway.js';
import { until } from './support/until.js';
import { refusedHandshake, WsBackend, type SeenClose } from './support/ws-backend.js';

let cluster: EtcdCluster;
let etcd: EtcdClient;
const backends: WsBackend[] = [];
const stops: (() => Promise<void>)[] = [];
let count = 0;

beforeAll(async () => {
  cluster = await startEtcd();
  etcd = new EtcdClient({ endpoints: cluster.endpoints });
}, 60_000);

afterAll(async () => {
  for (const stop of stops.splice(0)) await stop().catch(() => undefined);
  for (const backend of backends) await backend.close().catch(() => undefined);
  await cluster?.close();
});

async function backend(): Promise<WsBackend> {
  const started = await WsBackend.start();
  backends.push(started);
  return started;
}

async function service(urls: string[]): Promise<string> {
  const name = `ws-${++count}`;
  for (const url of urls) {
    const record = nativeLayout().encode({ service: name, url });
    await etcd.put(record.key, record.value);
  }
  return name;
}

async function gateway(env: Record<string, string> = {}): Promise<NodeGateway> {
  const config = nodeConfig({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_ALLOW_LOOPBACK: 'true', ADMIN_TOKEN, PORT: '0', ...env });
  const node = await startNodeGateway({ config, host: '127.0.0.1' });
  stops.push(() => node.close(1_000));
  return node;
}

/** A `ws` client with what it received and how it closed. */
class Client {
  readonly messages: string[] = [];
  readonly closed: Promise<SeenClose>;
  readonly socket: WebSocket;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on('message', (data) => this.messages.push(data.toString()));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(url: string): Promise<Client> {
    const client = new Client(url);
    await new Promise<void>((resolve, reject) => {
      client.socket.once('open', () => resolve());
      client.socket.once('unexpected-response', (_req, res) => reject(new Error(`answered ${res.statusCode}`)));
      client.socket.once('error', reject);
    });
    return client;
  }

  /** Sends `text` and waits for the next message. */
  async ask(text: string): Promise<string> {
    const seen = this.messages.length;
    this.socket.send(text);
    await until(() => this.messages.length > seen, 5_000);
    return this.messages[seen]!;
  }
}

const wsUrl = (node: NodeGateway, path: string): string => `${node.url.replace('http', 'ws')}${path}`;

async function metrics(node: NodeGateway): Promise<string> {
  return (await fetch(`${node.url}/_edge/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
}

describe('WebSocket on Node', () => {
  it('relays both ways with the prefix stripped and the forwarding fields added, counted in metrics', async () => {
    const b = await backend();
    const name = await service([b.url]);
    const node = await gateway();
    const client = await Client.open(wsUrl(node, `/svc/${name}/chat/room?id=7`));
    expect(await client.ask('hello')).toBe('echo:hello');
    const seen = JSON.parse(await client.ask('headers')) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/chat/room?id=7');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers.forwarded).toContain('for=127.0.0.1');
    expect(seen.headers.via).toMatch(/^1\.1 etcd-edge-/);
    expect(seen.headers['x-request-id']).toMatch(/\S/);
    expect(seen.headers.upgrade).toBe('websocket');
    // Binary frames pass as they are.
    const binary = new Promise<Buffer>((resolve) => client.socket.once('message', (data) => resolve(data as Buffer)));
    client.socket.send(Buffer.from([0, 1, 2, 255]));
    expect([...(await binary)]).toEqual([0, 1, 2, 255]);
    const text = await metrics(node);
    expect(text).toContain('etcd_edge_websocket_upgrades_total{result="upgraded"} 1');
    expect(text).toContain('etcd_edge_websocket_connections 1');
    expect(text).toContain(`etcd_edge_requests_total{service="${name}",status="101"} 1`);
    client.socket.close(1000);
    await client.closed;
    await until(async () => (await metrics(node)).includes('etcd_edge_websocket_connections 0'), 5_000);
  });

  it('sends a handshake elsewhere when an instance refuses connections, as any request', async () => {
    const b = await backend();
    const dead = await WsBackend.start();
    await dead.close();
    const name = await service([dead.url, b.url]);
    const node = await gateway();
    for (let i = 0; i < 6; i++) {
      const client = await Client.open(wsUrl(node, `/svc/${name}/`));
      expect(await client.ask(`n${i}`)).toBe(`echo:n${i}`);
      client.socket.close(1000);
    }
    expect(b.handshakes).toHaveLength(6);
  });

  it('passes close codes and reasons through both ways', async () => {
    const b = await backend();
    const name = await service([b.url]);
    const node = await gateway();
    const fromClient = await Client.open(wsUrl(node, `/svc/${name}/`));
    fromClient.socket.close(4002, 'client says bye');
    expect(await fromClient.closed).toEqual({ code: 4002, reason: 'client says bye' });
    await until(() => b.closes.length === 1, 5_000);
    expect(b.closes[0]).toEqual({ code: 4002, reason: 'client says bye' });
    const fromServer = await Client.open(wsUrl(node, `/svc/${name}/`));
    fromServer.socket.send('close-me');
    expect(await fromServer.closed).toEqual({ code: 4001, reason: 'server says bye' });
  });

  it('answers the usual JSON 503 when no instance is registered, and passes an instance\'s refusal on', async () => {
    const b = await backend();
    const name = await service([b.url]);
    const node = await gateway();
    const none = await refusedHandshake(`${node.url}/svc/ws-none-registered/`);
    expect(none.status).toBe(503);
    expect(none.body.error?.code).toBe('NO_INSTANCES');
    const denied = await refusedHandshake(`${node.url}/svc/${name}/deny`);
    expect(denied.status).toBe(403);
    const text = await metrics(node);
    expect(text).toContain('etcd_edge_websocket_upgrades_total{result="declined"} 1');
  });

  it('refuses handshakes beyond ETCD_EDGE_WS_MAX_CONNECTIONS with 503', async () => {
    const b = await backend();
    const name = await service([b.url]);
    const node = await gateway({ ETCD_EDGE_WS_MAX_CONNECTIONS: '1' });
    const first = await Client.open(wsUrl(node, `/svc/${name}/`));
    const second = await refusedHandshake(`${node.url}/svc/${name}/`);
    expect(second.status).toBe(503);
    expect(second.body.error?.code).toBe('TOO_MANY_WEBSOCKETS');
    expect(second.headers['retry-after']).toBe('1');
    expect(await metrics(node)).toContain('etcd_edge_websocket_upgrades_total{result="limited"} 1');
    first.socket.close(1000);
    await first.closed;
    // The slot is free again once the first is closed.
    await until(async () => (await metrics(node)).includes('etcd_edge_websocket_connections 0'), 5_000);
    const third = await Client.open(wsUrl(node, `/svc/${name}/`));
    expect(await third.ask('again')).toBe('echo:again');
    third.socket.close(1000);
  });

  it('closes a connection idle for ETCD_EDGE_WS_IDLE_TIMEOUT_MS with 1001 both ways', async () => {
    const b = await backend();
    const name = await service([b.url]);
    const node = await gateway({ ETCD_EDGE_WS_IDLE_TIMEOUT_MS: '1000' });
    const client = await Client.open(wsUrl(node, `/svc/${name}/`));
    expect(await client.ask('still here')).toBe('echo:still here');
    const started = Date.now();
    expect(await client.closed).toEqual({ code: 1001, reason: 'idle timeout' });
    expect(Date.now() - started).toBeLessThan(3_000);
    await until(() => b.closes.length === 1, 5_000);
    expect(b.closes[0]).toEqual({ code: 1001, reason: 'idle timeout' });
  });

  it('gives the client a close, not a hang, when its instance dies mid-stream', async () => {
    const b = await backend();
    const name = await service([b.url]);
    const node = await gateway();
    const client = await Client.open(wsUrl(node, `/svc/${name}/`));
    expect(await client.ask('before')).toBe('echo:before');
    const started = Date.now();
    b.kill();
    const closed = await client.closed;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect([1011, 1006]).toContain(closed.code);
    await until(async () => (await metrics(node)).includes('etcd_edge_websocket_connections 0'), 5_000);
  });

  it('survives clients that reset their connection during the handshake', async () => {
    const b = await backend();
    const name = await service([b.url]);
    const node = await gateway();
    const { port } = new URL(node.url);
    for (let i = 0; i < 5; i++) {
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`GET /svc/${name}/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      socket.resetAndDestroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const client = await Client.open(wsUrl(node, `/svc/${name}/`));
    expect(await client.ask('still up')).toBe('echo:still up');
    client.socket.close(1000);
  });

  it('serves other upgrades (h2c) and other paths as plain requests', async () => {
    const b = await backend();
    const name = await service([b.url]);
    const node = await gateway();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${node.url}/svc/${name}/plain`, { headers: { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA' } });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    // The instance saw a plain GET (no Upgrade): its HTTP answer came back.
    expect(answer).toEqual({ status: 426, body: 'upgrade required' });
  });

  it('etcd-edge serve sends 1001 to relayed clients on SIGTERM, then exits 0', async () => {
    const b = await backend();
    const name = await service([b.url]);
    const served = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_ALLOW_LOOPBACK: 'true' });
    const client = await Client.open(`${served.url.replace('http', 'ws')}/svc/${name}/`);
    expect(await client.ask('hi')).toBe('echo:hi');
    const exited = served.process.kill('SIGTERM');
    expect(await client.closed).toEqual({ code: 1001, reason: 'the gateway is shutting down' });
    expect((await exited).code).toBe(0);
    await until(() => b.closes.length === 1, 5_000);
    expect(b.closes[0]?.code).toBe(1001);
  });
});
