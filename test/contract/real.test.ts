import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, fetch as undiciFetch } from 'undici';
import { EtcdClient, type FetchLike } from '../../src/index.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { enableAuth } from '../support/etcd-auth.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import type { ContractBackend } from './backend.js';
import { etcdContract } from './etcd-contract.js';

const TOKEN_TTL_SECONDS = 1;
let plain: EtcdCluster;
let withAuth: EtcdCluster;
let proxy: TcpProxy;

beforeAll(async () => {
  [plain, withAuth] = await Promise.all([startEtcd(), startEtcd({ authTokenTtl: TOKEN_TTL_SECONDS })]);
  await enableAuth(withAuth.endpoints[0]!, { username: 'edge', password: 'edge-secret' });
  proxy = await new TcpProxy({ host: '127.0.0.1', port: Number(new URL(plain.endpoints[0]!).port) }).listen();
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([plain?.close(), withAuth?.close()]);
});

/** Each client gets its own connection pool, as one process's client would. */
function pooledFetch(): FetchLike {
  const dispatcher = new Agent();
  return (url, init) => undiciFetch(url, { ...init, dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
}

const backend: ContractBackend = {
  client: (options) => new EtcdClient({ endpoints: [proxy.url], fetch: pooledFetch(), ...options }),
  dropConnections: () => void proxy.dropAll(),
  auth: {
    username: 'edge',
    password: 'edge-secret',
    client: (options) =>
      new EtcdClient({ endpoints: withAuth.endpoints, username: 'edge', password: 'edge-secret', ...options }),
    // etcd drops unused simple tokens once their TTL passes, checked each second.
    expireTokens: () => new Promise((resolve) => setTimeout(resolve, TOKEN_TTL_SECONDS * 1000 + 1_600)),
  },
};

describe('etcd contract: real etcd', () => {
  etcdContract(() => backend);

  it('leaves no watch stream open once the watches ended', async () => {
    const streams = async (endpoint: string) => {
      const metrics = await (await fetch(`${endpoint}/metrics`)).text();
      return Number(/^etcd_debugging_mvcc_watch_stream_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
    };
    await expect.poll(async () => (await streams(plain.endpoints[0]!)) + (await streams(withAuth.endpoints[0]!)), { timeout: 5_000 }).toBe(0);
  });
});
