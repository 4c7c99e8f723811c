import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../src/etcd/index.js';
import { nativeLayout } from '../src/registry/index.js';
import { cli, CliProcess } from './support/cli-process.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { startServeProcess } from './support/node-gateway.js';
import { until } from './support/until.js';

const TOKEN = 'relay-cli-test-token';
let cluster: EtcdCluster;

beforeAll(async () => {
  cluster = await startEtcd();
  const record = nativeLayout().encode({ service: 'orders', url: 'http://10.0.0.1:8080' });
  await new EtcdClient({ endpoints: cluster.endpoints }).put(record.key, record.value);
});

afterAll(async () => {
  await cluster?.close();
});

describe('etcd-edge relay', () => {
  it('refuses to start without ETCD_EDGE_RELAY_TOKENS, in one line', () => {
    const run = cli(['relay', '--port', '0'], { ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_RELAY_TOKENS: '' });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('ETCD_EDGE_RELAY_TOKENS');
  });

  it('serves snapshots, and on SIGTERM answers held long-polls and exits 0', async () => {
    const relay = new CliProcess(['relay', '--port', '0', '--host', '127.0.0.1'], { ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_RELAY_TOKENS: `other-token-0123456789,${TOKEN}` });
    try {
      await until(() => /listening on http/.test(relay.stdout) || relay.child.exitCode !== null, 15_000);
      const url = /listening on (http:\/\/\S+)/.exec(relay.stdout)?.[1];
      expect(url, relay.stderr).toBeDefined();
      const headers = { authorization: `Bearer ${TOKEN}` };
      const response = await fetch(`${url}/v1/services/orders`, { headers });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { instances: { url: string }[] }).instances.map((i) => i.url)).toEqual(['http://10.0.0.1:8080']);
      expect((await fetch(`${url}/health`)).status).toBe(401);
      const etag = response.headers.get('etag')!;
      const poll = fetch(`${url}/v1/services/orders?wait=60000`, { headers: { ...headers, 'if-none-match': etag } });
      // Held once the relay counts it: a fixed wait could signal before the relay had read the request.
      await until(async () => /^etcd_edge_relay_long_polls 1$/m.test(await (await fetch(`${url}/metrics`, { headers })).text()), 5_000);
      const exited = relay.kill('SIGTERM');
      expect((await poll).status).toBe(304);
      expect((await exited).code).toBe(0);
      expect(relay.stderr).toContain('stopped');
      expect(relay.stderr).not.toContain(TOKEN);
    } finally {
      await relay.kill('SIGKILL');
    }
  });

  it('is mounted at /v1/ of serve with --relay, beside the gateway', async () => {
    const gateway = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_RELAY_TOKENS: TOKEN }, ['--relay']);
    try {
      const response = await fetch(`${gateway.url}/v1/services/orders`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { instances: unknown[] }).instances).toHaveLength(1);
      expect((await fetch(`${gateway.url}/v1/services/orders`)).status).toBe(401);
      // Its health and metrics are mounted with it, behind the relay's token.
      const health = await fetch(`${gateway.url}/v1/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(await health.json()).toMatchObject({ status: 'ok', etcd: { reachable: true } });
      const metrics = await (await fetch(`${gateway.url}/v1/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      expect(metrics).toContain('etcd_edge_relay_requests_total{route="service",status="200"} 1\n');
      expect(metrics).toContain('etcd_edge_relay_etcd_up 1\n');
      expect(metrics).toContain('process_resident_memory_bytes ');
      expect((await fetch(`${gateway.url}/v1/metrics`)).status).toBe(401);
    } finally {
      await gateway.close();
    }
  });
});
