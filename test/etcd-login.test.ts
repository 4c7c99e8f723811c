import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeConfig, startNodeGateway } from '../src/adapters/node/index.js';
import { AuthRecordingProxy } from './chaos/support/auth-recording-proxy.js';
import { countingFetch } from './support/counting-fetch.js';
import { enableAuth } from './support/etcd-auth.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { ADMIN_TOKEN } from './support/gateway-scenarios.js';
import { startServeProcess } from './support/node-gateway.js';
import { until } from './support/until.js';

// A cold gateway must log in to etcd once, whatever asks first: each login
// costs etcd a bcrypt hash, and a fleet starting at once queues them on
// etcd's CPU (50 at once took 3.5 s here) until logins time out.
const USER = 'edge';
const PASSWORD = `pw-${crypto.randomUUID()}`;
const RELAY_TOKEN = 'relay-token-0123456789abcdef';
const admin = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };

let cluster: EtcdCluster;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  cluster = await startEtcd();
  await enableAuth(cluster.endpoints[0]!, { username: USER, password: PASSWORD });
}, 60_000);

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  await cluster?.close();
});

describe('a cold gateway against etcd with auth', () => {
  it('serve --relay logs in once for its start-up probe, first requests, health and relay reads together', async () => {
    const proxy = await AuthRecordingProxy.start(cluster.endpoints[0]!);
    stops.push(() => proxy.close());
    const env = { ETCD_ENDPOINTS: proxy.url, ETCD_USERNAME: USER, ETCD_PASSWORD: PASSWORD, ADMIN_TOKEN, ETCD_EDGE_RELAY_TOKENS: RELAY_TOKEN, ETCD_EDGE_WATCH: 'off' };
    const serve = await startServeProcess(env, ['--relay']);
    stops.push(() => serve.close());
    // Everything at once, while the start-up probe may still be logging in.
    const answers = await Promise.all([
      fetch(`${serve.url}/svc/alpha/`),
      fetch(`${serve.url}/svc/beta/`),
      fetch(`${serve.url}/_edge/health`, admin),
      fetch(`${serve.url}/v1/services/alpha`, { headers: { authorization: `Bearer ${RELAY_TOKEN}` } }),
    ]);
    // Nothing is registered: the gateway answers 503 NO_INSTANCES, the relay an empty list.
    const codes = await Promise.all(answers.map(async (a) => `${a.status} ${((await a.json()) as { error?: { code: string } }).error?.code ?? ''}`.trim()));
    expect(codes).toEqual(['503 NO_INSTANCES', '503 NO_INSTANCES', '200', '200']);
    // The probe reads once it has a token; it has then logged in (or joined the login) too.
    await until(() => proxy.calls.filter((c) => c.path === '/v3/kv/range').length >= 4, 20_000);
    expect(proxy.calls.filter((c) => c.path === '/v3/auth/authenticate')).toHaveLength(1);
    expect(proxy.logins).toBe(1);
  }, 60_000);

  it('a Node gateway in cache mode logs in once for concurrent first requests to many services and its health', async () => {
    const counting = countingFetch();
    const config = nodeConfig({ ETCD_ENDPOINTS: cluster.endpoints[0]!, ETCD_USERNAME: USER, ETCD_PASSWORD: PASSWORD, ADMIN_TOKEN, ETCD_EDGE_WATCH: 'off', PORT: '0' });
    const node = await startNodeGateway({ config, host: '127.0.0.1', etcdFetch: counting.fetch });
    stops.push(() => node.close(0));
    const services = Array.from({ length: 20 }, (_, i) => fetch(`${node.url}/svc/cold-${i}/`).then((a) => a.status));
    const health = fetch(`${node.url}/_edge/health`, admin).then((a) => a.status);
    expect(new Set(await Promise.all(services))).toEqual(new Set([503]));
    expect(await health).toBe(200);
    expect(counting.count('/v3/auth/authenticate')).toBe(1);
    expect(counting.count('/v3/kv/range')).toBeGreaterThanOrEqual(21);
  }, 30_000);
});
