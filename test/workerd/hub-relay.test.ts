import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { Backend, type Echo } from '../support/backend.js';
import { CliProcess } from '../support/cli-process.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/until.js';
import { startHubWorker, type Worker } from '../support/workerd.js';

const TOKEN = 'relay-token-0123456789';
const ADMIN = 'admin-token-0123456789';

/**
 * The "done when": a Worker with the snapshot hub routes correctly
 * with etcd reachable only by the relay. Real etcd, the real `etcd-edge relay`
 * process, and the Worker entry in workerd with nothing but the relay's URL
 * and token (no ETCD_ENDPOINTS): the hub reads the relay for every isolate.
 */
describe('Worker with the snapshot hub reading a relay (workerd, real etcd and relay)', () => {
  let cluster: EtcdCluster;
  let etcd: EtcdClient;
  let first: Backend;
  let second: Backend;
  let relay: CliProcess;
  let relayUrl: string;
  let persist: string;
  let worker: Worker | undefined;
  const layout = nativeLayout();

  const register = async (service: string, backend: Backend): Promise<void> => {
    const record = layout.encode({ service, url: backend.url, id: 'one' });
    await etcd.put(record.key, record.value);
  };
  const backendOf = async (service: string): Promise<string> => {
    const res = await worker!.fetch(`http://gateway.test/svc/${service}/`);
    return res.status === 200 ? ((await res.json()) as Echo).backend : `HTTP ${res.status}`;
  };
  const relayHealth = async (): Promise<{ waiting: number }> => (await (await fetch(`${relayUrl}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { waiting: number };
  const vars = (more: Record<string, string>): Record<string, string> => ({
    ETCD_EDGE_RELAY_URL: relayUrl,
    ETCD_EDGE_RELAY_TOKEN: TOKEN,
    ETCD_EDGE_ALLOW_LOOPBACK: 'true',
    // Every request misses the isolate's cache: each one asks the hub.
    ETCD_EDGE_CACHE_TTL_MS: '0',
    ADMIN_TOKEN: ADMIN,
    ...more,
  });

  beforeAll(async () => {
    let port: number;
    [cluster, first, second, persist, port] = await Promise.all([startEtcd(), Backend.start('first'), Backend.start('second'), mkdtemp(join(tmpdir(), 'etcd-edge-hub-relay-')), freePort()]);
    etcd = new EtcdClient({ endpoints: cluster.endpoints });
    relayUrl = `http://127.0.0.1:${port}`;
    relay = new CliProcess(['relay', '--port', String(port), '--host', '127.0.0.1'], { ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_RELAY_TOKENS: TOKEN, ETCD_EDGE_RELAY_RATE: '10000', ETCD_EDGE_RELAY_BURST: '10000' });
    await until(() => /listening on http/.test(relay.stdout) || relay.child.exitCode !== null, 15_000);
    if (!/listening on http/.test(relay.stdout)) throw new Error(`etcd-edge relay did not start:\n${relay.stderr}`);
  }, 90_000);

  afterEach(async () => {
    await worker?.dispose();
    worker = undefined;
  });

  afterAll(async () => {
    await relay?.kill('SIGKILL');
    await Promise.all([first?.close(), second?.close(), cluster?.close()]);
    if (persist) await rm(persist, { recursive: true, force: true });
  });

  it('cache mode: routes to the instance registered in etcd and follows a change within the hub TTL', async () => {
    await register('cached', first);
    // ETCD_EDGE_USE_HUB=on as well: the hub reads whatever that says (it once refused to start with it).
    worker = await startHubWorker(persist, vars({ ETCD_EDGE_HUB_CACHE_TTL_MS: '300', ETCD_EDGE_USE_HUB: 'on', ETCD_EDGE_HUB_LOCATION: 'weur' }));
    for (let i = 0; i < 5; i++) expect(await backendOf('cached')).toBe('first');
    expect(first.requests).toBe(5);

    await register('cached', second);
    await until(async () => (await backendOf('cached')) === 'second', 10_000);
    for (let i = 0; i < 3; i++) expect(await backendOf('cached')).toBe('second');

    const health = (await (await worker.fetch('http://gateway.test/_edge/health', { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', relay: { reachable: true }, hub: { name: 'etcd-edge-snapshots-weur', locationHint: 'weur', fallback: true, lastCallFailed: false, onFallback: false } });
    // The isolate was given no etcd: health reports the relay in its place.
    expect(health.etcd).toBeUndefined();
  }, 60_000);

  it('watch mode: the hub holds a long-poll on the relay and a change arrives through it, not through the TTL', async () => {
    await register('watched', first);
    // A TTL no test outlives: only the long-poll can bring the change in time.
    worker = await startHubWorker(persist, vars({ ETCD_EDGE_WATCH: 'on', ETCD_EDGE_HUB_CACHE_TTL_MS: '600000' }));
    expect(await backendOf('watched')).toBe('first');
    await until(async () => (await relayHealth()).waiting >= 1, 5_000);

    const started = Date.now();
    await register('watched', second);
    await until(async () => (await backendOf('watched')) === 'second', 5_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    for (let i = 0; i < 3; i++) expect(await backendOf('watched')).toBe('second');
    // The loop asks again with the new revision: still one long-poll held.
    await until(async () => (await relayHealth()).waiting >= 1, 5_000);
  }, 60_000);
});
