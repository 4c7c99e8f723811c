import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout, type Instance } from '../src/index.js';
import { Backend, type Echo } from './support/backend.js';
import { CliProcess } from './support/cli-process.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { FakeRelayServer } from './support/fake-relay-server.js';
import { startServeProcess } from './support/node-gateway.js';
import { until } from './support/until.js';
import { echoOf, invoke, LambdaEnv, recorded } from './lambda/harness.js';

const TOKEN = 'relay-token-0123456789';
const ADMIN = 'admin-token-0123456789';
const SERVICE = 'relayed';

function instance(backend: Backend): Instance {
  return { service: SERVICE, id: backend.name, url: backend.url, weight: 1, tags: {}, metadata: null, key: `services/${SERVICE}/${backend.name}`, layout: 'native', leaseId: '7587862072112422001', revision: 2 };
}

/**
 * Gateways configured with nothing but a relay (no etcd endpoint at all) route
 * to real loopback backends: `etcd-edge serve` as a process, and the Lambda
 * handler in process. The relay is the fake one served over HTTP.
 */
describe('gateways reading a snapshot relay', () => {
  let relay: FakeRelayServer;
  let a: Backend;
  let b: Backend;

  beforeAll(async () => {
    [relay, a, b] = await Promise.all([FakeRelayServer.start(TOKEN), Backend.start('a'), Backend.start('b')]);
    relay.relay.set(SERVICE, [instance(a), instance(b)]);
  });

  afterAll(async () => {
    await Promise.all([relay?.close(), a?.close(), b?.close()]);
  });

  it('etcd-edge serve routes through the relay, follows a change, and keeps serving while the relay is down', async () => {
    const own = await FakeRelayServer.start(TOKEN);
    own.relay.set(SERVICE, [instance(a), instance(b)]);
    const gateway = await startServeProcess({
      ETCD_ENDPOINTS: '',
      ETCD_EDGE_RELAY_URL: own.url,
      ETCD_EDGE_RELAY_TOKEN: TOKEN,
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
      ETCD_EDGE_CACHE_TTL_MS: '100',
      ADMIN_TOKEN: ADMIN,
    });
    try {
      const backendOf = async (): Promise<string> => ((await (await fetch(`${gateway.url}/svc/${SERVICE}/hello`)).json()) as Echo).backend;
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) seen.add(await backendOf());
      expect(seen).toEqual(new Set(['a', 'b']));
      expect(gateway.process.stderr).toMatch(/relay http:\/\/127\.0\.0\.1:\d+;/);

      const health = await (await fetch(`${gateway.url}/_edge/health`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
      expect(health).toMatchObject({ status: 'ok', relay: { reachable: true } });

      own.relay.set(SERVICE, [instance(b)]);
      await until(async () => (await backendOf()) === 'b' && (await backendOf()) === 'b' && (await backendOf()) === 'b', 5_000);
      expect(own.relay.answers.get(304)).toBeGreaterThan(0);

      await own.close();
      for (let i = 0; i < 5; i++) {
        expect(await backendOf()).toBe('b');
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      const down = await (await fetch(`${gateway.url}/_edge/health`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
      expect(down).toMatchObject({ status: 'degraded', relay: { reachable: false }, services: [{ service: SERVICE, instances: 1 }] });
    } finally {
      await Promise.all([gateway.close(), own.close()]);
    }
  });

  it('the Lambda handler routes through the relay with no etcd configured', async () => {
    relay.relay.set(SERVICE, [instance(a)]);
    const env = new LambdaEnv([]);
    try {
      env.set('ETCD_ENDPOINTS', undefined);
      env.set('ETCD_EDGE_RELAY_URL', relay.url);
      env.set('ETCD_EDGE_RELAY_TOKEN', TOKEN);
      const result = await invoke(recorded('apigw-v2-http', SERVICE));
      expect(echoOf(result).backend).toBe('a');
      expect(relay.relay.answers.get(401) ?? 0).toBe(0);
    } finally {
      env.restore();
    }
  });

  it('a gateway with a wrong token answers 503 and says why in its health, without the token', async () => {
    const gateway = await startServeProcess({
      ETCD_ENDPOINTS: '',
      ETCD_EDGE_RELAY_URL: relay.url,
      ETCD_EDGE_RELAY_TOKEN: 'wrong-token-0123456789',
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
      ADMIN_TOKEN: ADMIN,
    });
    try {
      const response = await fetch(`${gateway.url}/svc/${SERVICE}/hello`);
      expect(response.status).toBe(503);
      const health = await (await fetch(`${gateway.url}/_edge/health`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
      expect(JSON.parse(health)).toMatchObject({ status: 'degraded', relay: { reachable: false, error: 'RELAY_UNAUTHORIZED' } });
      expect(health + gateway.process.stderr + gateway.process.stdout).not.toContain('wrong-token');
    } finally {
      await gateway.close();
    }
  });
});

/** The real relay (`etcd-edge relay`) over a real etcd, with a gateway that can reach only the relay. */
describe('a gateway reading the real relay', () => {
  let cluster: EtcdCluster;
  let backend: Backend;
  let relay: CliProcess;
  let relayUrl: string;

  beforeAll(async () => {
    [cluster, backend] = await Promise.all([startEtcd(), Backend.start('real')]);
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    const record = nativeLayout().encode({ service: SERVICE, url: backend.url });
    await etcd.put(record.key, record.value);
    relay = new CliProcess(['relay', '--port', '0', '--host', '127.0.0.1'], { ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_RELAY_TOKENS: TOKEN });
    await until(() => /listening on http/.test(relay.stdout) || relay.child.exitCode !== null, 15_000);
    const url = /listening on (http:\/\/\S+)/.exec(relay.stdout)?.[1];
    if (!url) throw new Error(`etcd-edge relay did not start:\n${relay.stderr}`);
    relayUrl = url;
  }, 60_000);

  afterAll(async () => {
    await relay?.kill('SIGTERM');
    await Promise.all([backend?.close(), cluster?.close()]);
  });

  it('etcd-edge serve configured with only the relay routes to the instance registered in etcd', async () => {
    const gateway = await startServeProcess({ ETCD_ENDPOINTS: '', ETCD_EDGE_RELAY_URL: relayUrl, ETCD_EDGE_RELAY_TOKEN: TOKEN, ETCD_EDGE_ALLOW_LOOPBACK: 'true', ETCD_EDGE_CACHE_TTL_MS: '0', ADMIN_TOKEN: ADMIN });
    try {
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${gateway.url}/svc/${SERVICE}/hello`);
        expect(response.status).toBe(200);
        expect(((await response.json()) as Echo).backend).toBe('real');
      }
      const health = await (await fetch(`${gateway.url}/_edge/health`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
      expect(health).toMatchObject({ status: 'ok', relay: { reachable: true }, services: [{ service: SERVICE, instances: 1 }] });
    } finally {
      await gateway.close();
    }
  });
});
