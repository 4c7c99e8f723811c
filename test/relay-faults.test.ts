import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../src/index.js';
import { Backend, type Echo } from './support/backend.js';
import { CliProcess } from './support/cli-process.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { startServeProcess } from './support/node-gateway.js';
import { freePort } from './support/ports.js';
import { until } from './support/until.js';

const OLD = 'relay-token-old-0123456789';
const NEW = 'relay-token-new-0123456789';
const ADMIN = 'admin-token-0123456789';

type Gateway = Awaited<ReturnType<typeof startServeProcess>>;
interface Health {
  status: string;
  relay: { reachable: boolean; error?: string };
  services: { service: string; ageMs: number; watched: boolean; watchDownForMs?: number }[];
}

/**
 * Faults between real processes: a real etcd, the real `etcd-edge relay`
 * (restarted on one port), and `etcd-edge serve` gateways reading only the
 * relay, routing to real loopback backends.
 */
describe('relay faults', () => {
  let cluster: EtcdCluster;
  let etcd: EtcdClient;
  let a: Backend;
  let b: Backend;
  let port: number;
  let relay: CliProcess | undefined;
  let serial = 0;

  beforeAll(async () => {
    [cluster, a, b, port] = await Promise.all([startEtcd(), Backend.start('a'), Backend.start('b'), freePort()]);
    etcd = new EtcdClient({ endpoints: cluster.endpoints });
  }, 60_000);

  afterAll(async () => {
    await relay?.kill('SIGKILL');
    await Promise.all([a?.close(), b?.close(), cluster?.close()]);
  });

  async function startRelay(tokens: string): Promise<void> {
    relay = new CliProcess(['relay', '--port', String(port), '--host', '127.0.0.1'], { ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_RELAY_TOKENS: tokens, ETCD_EDGE_RELAY_RATE: '10000', ETCD_EDGE_RELAY_BURST: '10000' });
    const started = relay;
    await until(() => /listening on http/.test(started.stdout) || started.child.exitCode !== null, 15_000);
    if (!/listening on http/.test(started.stdout)) throw new Error(`etcd-edge relay did not start:\n${started.stderr}`);
  }

  async function stopRelay(): Promise<void> {
    await relay?.kill('SIGKILL');
    relay = undefined;
  }

  async function register(service: string, backend: Backend): Promise<void> {
    const record = nativeLayout().encode({ service, id: backend.name, url: backend.url });
    await etcd.put(record.key, record.value);
  }

  async function deregister(service: string, backend: Backend): Promise<void> {
    await etcd.delete(nativeLayout().encode({ service, id: backend.name, url: backend.url }).key);
  }

  function gateway(token: string, env: Record<string, string> = {}): Promise<Gateway> {
    return startServeProcess({ ETCD_ENDPOINTS: '', ETCD_EDGE_RELAY_URL: `http://127.0.0.1:${port}`, ETCD_EDGE_RELAY_TOKEN: token, ETCD_EDGE_ALLOW_LOOPBACK: 'true', ADMIN_TOKEN: ADMIN, ...env });
  }

  async function backendOf(g: Gateway, service: string): Promise<string> {
    const response = await fetch(`${g.url}/svc/${service}/hello`);
    return response.status === 200 ? ((await response.json()) as Echo).backend : `HTTP ${response.status}`;
  }

  async function health(g: Gateway): Promise<Health> {
    return (await (await fetch(`${g.url}/_edge/health`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as Health;
  }

  const name = () => `faults-${++serial}`;

  it('etcd down: the relay serves stale with its age, and gateways in watch and cache mode keep routing', async () => {
    await startRelay(OLD);
    const service = name();
    await register(service, a);
    const watching = await gateway(OLD);
    const caching = await gateway(OLD, { ETCD_EDGE_WATCH: 'off', ETCD_EDGE_CACHE_TTL_MS: '100' });
    try {
      expect(await backendOf(watching, service)).toBe('a');
      expect(await backendOf(caching, service)).toBe('a');
      await cluster.members[0]!.stop();
      const downAt = Date.now();
      // The cache-mode gateway's next conditional read gets the relay's 304 with its age: health shows the true age.
      await until(async () => (await backendOf(caching, service)) === 'a' && (await health(caching)).services[0]!.ageMs >= 300, 10_000);
      const aged = (await health(caching)).services.find((s) => s.service === service)!;
      expect(aged.ageMs).toBeLessThanOrEqual(Date.now() - downAt + 2_000);
      for (let i = 0; i < 5; i++) {
        expect(await backendOf(watching, service)).toBe('a');
        expect(await backendOf(caching, service)).toBe('a');
      }
    } finally {
      await cluster.members[0]!.start();
      await Promise.all([watching.close(), caching.close()]);
      await stopRelay();
    }
  });

  it('relay down: a gateway keeps its stale-if-error snapshot and says the relay is down', async () => {
    await startRelay(OLD);
    const service = name();
    await register(service, a);
    const g = await gateway(OLD);
    try {
      expect(await backendOf(g, service)).toBe('a');
      await stopRelay();
      await until(async () => (await health(g)).services.some((s) => s.watchDownForMs !== undefined), 10_000);
      for (let i = 0; i < 5; i++) expect(await backendOf(g, service)).toBe('a');
      expect(await health(g)).toMatchObject({ status: 'degraded', relay: { reachable: false } });
    } finally {
      await g.close();
    }
  });

  it('relay restarted: a gateway resyncs and sees the change made while the relay was down', async () => {
    await startRelay(OLD);
    const service = name();
    await register(service, a);
    const g = await gateway(OLD);
    try {
      expect(await backendOf(g, service)).toBe('a');
      await stopRelay();
      await register(service, b);
      await deregister(service, a);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await backendOf(g, service)).toBe('a');
      await startRelay(OLD);
      await until(async () => (await backendOf(g, service)) === 'b', 15_000);
      for (let i = 0; i < 5; i++) expect(await backendOf(g, service)).toBe('b');
      await until(async () => (await health(g)).status === 'ok', 5_000);
    } finally {
      await g.close();
      await stopRelay();
    }
  });

  it('relay token rotated: with both tokens, then only the new one, a gateway holding the new one keeps working', async () => {
    await startRelay(OLD);
    const service = name();
    await register(service, a);
    const old = await gateway(OLD);
    try {
      expect(await backendOf(old, service)).toBe('a');
      await stopRelay();
      await startRelay(`${OLD},${NEW}`);
      const rotated = await gateway(NEW);
      try {
        expect(await backendOf(rotated, service)).toBe('a');
        await until(async () => (await health(old)).status === 'ok', 15_000);
        await stopRelay();
        await startRelay(NEW);
        await register(service, b);
        await until(async () => (await backendOf(rotated, service)) === 'b' && (await backendOf(rotated, service)) === 'b', 15_000);
        expect(await health(rotated)).toMatchObject({ status: 'ok', relay: { reachable: true } });
        // The old token is refused: that gateway keeps what it held and says why.
        await until(async () => (await health(old)).relay.error === 'RELAY_UNAUTHORIZED', 15_000);
        expect(await backendOf(old, service)).toBe('a');
      } finally {
        await rotated.close();
      }
    } finally {
      await old.close();
      await stopRelay();
    }
  });
});
