import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/index.js';
import { etcdHandlers, FakeEtcd } from '../../src/testing/index.js';
import type { ContractBackend } from './backend.js';
import { etcdContract } from './etcd-contract.js';

const plain = new FakeEtcd({ endpoints: ['http://etcd-a.fake:2379'] });
const withAuth = new FakeEtcd({
  endpoints: ['http://etcd-auth.fake:2379'],
  auth: { users: { edge: 'edge-secret' } },
});
const server = setupServer(...etcdHandlers(plain), ...etcdHandlers(withAuth));

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => {
  server.close();
  plain.close();
  withAuth.close();
});

const backend: ContractBackend = {
  client: (options) => new EtcdClient({ endpoints: plain.endpoints, ...options }),
  dropConnections: () => plain.breakWatchStreams(),
  auth: {
    username: 'edge',
    password: 'edge-secret',
    client: (options) =>
      new EtcdClient({ endpoints: withAuth.endpoints, username: 'edge', password: 'edge-secret', ...options }),
    expireTokens: async () => withAuth.auth!.expireTokens(),
  },
};

describe('etcd contract: fake etcd through msw', () => {
  etcdContract(() => backend);

  it('leaves no watch stream open once the watches ended', async () => {
    await expect.poll(() => plain.watches.size + withAuth.watches.size).toBe(0);
  });
});
