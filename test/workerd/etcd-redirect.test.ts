import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableAuth } from '../support/etcd-auth.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { startTestWorker, type Worker } from '../support/workerd.js';

const USER = { username: 'edge', password: 'workerd-redirect-secret' };

let etcd: EtcdCluster;
let worker: Worker;
const servers: Server[] = [];
const redirected: string[] = [];
const followed: string[] = [];

function serve(onRequest: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(onRequest);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  etcd = await startEtcd();
  await enableAuth(etcd.endpoints[0]!, USER);
  const target = await serve((req, res) => {
    followed.push(`${req.method} ${req.url}`);
    res.end('{}');
  });
  const redirecting = await serve((req, res) => {
    redirected.push(`${req.method} ${req.url}`);
    res.writeHead(307, { location: `${target}${req.url}` }).end();
  });
  worker = await startTestWorker('etcd-edge-redirect-probe', new URL('./redirect-probe.ts', import.meta.url), {
    REDIRECTING: redirecting,
    ETCD: etcd.endpoints[0]!,
    USERNAME: USER.username,
    PASSWORD: USER.password,
  });
}, 90_000);

afterAll(async () => {
  await worker?.dispose();
  servers.forEach((s) => s.close());
  await etcd?.close();
});

describe('etcd client inside workerd, an endpoint answering 307', () => {
  it('sends the login there once, follows nothing, and is served by the next endpoint', async () => {
    const body = (await (await worker.fetch('http://probe.local/')).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 'ETCD_UNAVAILABLE', cause: { code: 'ETCD_REDIRECT', status: 307 }, served: 1 });
    expect(JSON.stringify(body)).not.toContain(USER.password);
    // One login from the client alone (not retried there), one from the client that then moved on to etcd.
    expect(redirected).toEqual(['POST /v3/auth/authenticate', 'POST /v3/auth/authenticate']);
    expect(followed).toEqual([]);
  }, 30_000);
});
