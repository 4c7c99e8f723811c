import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../src/index.js';
import { Backends, type Backend } from './support/backend.js';
import { cli, descendants, running } from './support/cli-process.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { ADMIN_TOKEN } from './support/gateway-scenarios.js';
import { startServeProcess } from './support/node-gateway.js';
import { rawRequest } from './support/raw-http.js';
import { makeTestPki } from './support/test-ca.js';
import { until } from './support/until.js';

let cluster: EtcdCluster;
let etcd: EtcdClient;
const backends = new Backends();
const stops: (() => Promise<void>)[] = [];
const native = nativeLayout();
let count = 0;

beforeAll(async () => {
  cluster = await startEtcd();
  etcd = new EtcdClient({ endpoints: cluster.endpoints });
});

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

afterAll(async () => {
  await backends.closeAll();
  await cluster?.close();
});

async function service(urls: string[]): Promise<string> {
  const name = `workers-${++count}`;
  for (const url of urls) await put(name, url);
  return name;
}

async function put(name: string, url: string): Promise<void> {
  const record = native.encode({ service: name, url, weight: 1, tags: {} });
  await etcd.put(record.key, record.value);
}

type Running = Awaited<ReturnType<typeof startServeProcess>>;

async function serve(args: string[] = ['--workers', '2'], env: Record<string, string> = {}): Promise<Running> {
  const gateway = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_ALLOW_LOOPBACK: 'true', ADMIN_TOKEN, ...env }, args);
  stops.push(() => gateway.close().catch(() => undefined));
  // Every worker is up once the primary has as many children.
  await until(() => descendants(gateway.pid!).length >= 2, 20_000);
  return gateway;
}

/** A request on a connection of its own: the cluster hands connections to workers in turn. */
const fresh = (gateway: Running, target: string) => rawRequest(gateway.url, target);

async function metrics(gateway: Running): Promise<string> {
  const response = await fetch(`${gateway.url}/_edge/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(response.status).toBe(200);
  return response.text();
}

/** `etcd_edge_worker_requests_total` by pid. */
function perWorker(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const [, pid, value] of text.matchAll(/^etcd_edge_worker_requests_total\{worker="\d+",pid="(\d+)"\} (\d+)$/gm)) out.set(Number(pid), Number(value));
  return out;
}

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

/** Open watch streams, as etcd itself counts them. */
async function etcdWatchStreams(): Promise<number> {
  const text = await (await fetch(`${cluster.endpoints[0]}/metrics`)).text();
  return sample(text, 'etcd_debugging_mvcc_watch_stream_total');
}

// Each test starts a cluster of processes on a 2-core machine others share.
describe('etcd-edge serve --workers', { timeout: 60_000 }, () => {
  it('serves from every worker, one etcd watch for the host, a change reaching every worker, metrics for the host', async () => {
    const [a, b] = await Promise.all([backends.start('wa'), backends.start('wb')]);
    const one = await service([a.url]);
    const two = await service([a.url]);
    const before = await etcdWatchStreams();
    const gateway = await serve();
    const workers = descendants(gateway.pid!);
    expect(workers).toHaveLength(2);
    for (let i = 0; i < 20; i++) {
      expect((await fresh(gateway, `/svc/${one}/x`)).status).toBe(200);
      expect((await fresh(gateway, `/svc/${two}/x`)).status).toBe(200);
    }
    const text = await metrics(gateway);
    const answered = perWorker(text);
    expect([...answered.keys()].sort()).toEqual([...workers].sort());
    for (const n of answered.values()) expect(n).toBeGreaterThan(0);
    expect(sample(text, 'etcd_edge_requests_total{service="' + one + '",status="200"}')).toBe(20);
    expect(sample(text, 'etcd_edge_upstream_duration_seconds_count')).toBe(40);
    expect(text).toMatch(/^process_resident_memory_bytes\{worker="1",pid="\d+"\} \d+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes\{worker="primary"\} \d+$/m);
    // Watches: the primary's alone, as many as one process would open, whatever the workers.
    const watches = sample(text, 'etcd_edge_watches');
    expect(watches).toBeGreaterThanOrEqual(1);
    expect(watches).toBeLessThanOrEqual(2);
    expect((await etcdWatchStreams()) - before).toBe(watches);

    // A change in etcd: every worker routes to the new instance.
    await etcd.delete(native.encode({ service: one, url: a.url, weight: 1, tags: {} }).key);
    await put(one, b.url);
    await until(async () => (await fresh(gateway, `/svc/${one}/x`)).body.includes('"backend":"wb"'), 10_000);
    const seen = b.requests;
    for (let i = 0; i < 20; i++) expect(JSON.parse((await fresh(gateway, `/svc/${one}/x`)).body).backend).toBe('wb');
    expect(b.requests - seen).toBe(20);
    // And both workers took part in those.
    const after = perWorker(await metrics(gateway));
    for (const pid of workers) expect(after.get(pid)! - answered.get(pid)!).toBeGreaterThan(0);

    // Health and a service's view from any worker: the primary's.
    for (let i = 0; i < 4; i++) {
      const health = await rawRequest(gateway.url, '/_edge/health', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body).status).toBe('ok');
      const view = await rawRequest(gateway.url, `/_edge/services/${one}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(view.status).toBe(200);
      expect(view.body).toContain(b.url);
    }
  });

  it('reads etcd once per TTL for the whole host in cache mode, not once per worker', async () => {
    const backend = await backends.start('wc');
    const name = await service([backend.url]);
    const gateway = await serve(['--workers', '3', '--watch', 'off', '--cache-ttl', '20000']);
    expect(descendants(gateway.pid!)).toHaveLength(3);
    for (let i = 0; i < 30; i++) expect((await fresh(gateway, `/svc/${name}/x`)).status).toBe(200);
    const text = await metrics(gateway);
    expect([...perWorker(text).values()].filter((n) => n > 0)).toHaveLength(3);
    // Each worker missed once and asked the primary; the primary read etcd once.
    expect(sample(text, 'etcd_edge_cache_misses_total')).toBe(3);
    expect(sample(text, 'etcd_edge_cache_refreshes_total')).toBe(1);
    expect(sample(text, 'etcd_edge_watches')).toBe(0);
  });

  it('runs as one process with --workers 1 (the default) and ETCD_EDGE_WORKERS sets the count', async () => {
    const one = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_ALLOW_LOOPBACK: 'true' }, ['--workers', '1']);
    stops.push(() => one.close());
    expect(descendants(one.pid!)).toEqual([]);
    // SIGHUP (a reload, to tools such as systemd) does not end a lone gateway: it says what a reload needs.
    one.process.child.kill('SIGHUP');
    await until(() => /SIGHUP: one process keeps its configuration/.test(one.process.stderr), 5_000);
    expect((await fetch(`${one.url}/svc/nobody/`)).status).toBe(503);
    const byEnv = await serve([], { ETCD_EDGE_WORKERS: '2' });
    expect(descendants(byEnv.pid!)).toHaveLength(2);
    const refused = cli(['serve', '--workers', '2', '--relay'], { ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_RELAY_TOKENS: 'x'.repeat(32) });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--relay and --workers');
    expect(cli(['serve', '--workers', '0']).stderr).toContain('--workers must be a whole number from 1 to 256');
    // ETCD_EDGE_CONFIG names the file as --config does; what it sets wins over the environment, a flag over both.
    const file = join(mkdtempSync(join(tmpdir(), 'etcd-edge-config-')), 'edge.env');
    writeFileSync(file, 'export ETCD_EDGE_WORKERS=3\n');
    const byFile = await serve([], { ETCD_EDGE_WORKERS: '1', ETCD_EDGE_CONFIG: file });
    await until(() => descendants(byFile.pid!).length === 3, 20_000);
    const missing = cli(['serve', '--config', join(file, 'nowhere')]);
    expect([missing.code, missing.stderr.trim()]).toEqual([2, expect.stringContaining(`--config ${join(file, 'nowhere')}: cannot be read`)]);
  });

  it('serves admin on a listener of the primary with ETCD_EDGE_ADMIN_PORT, none on the shared port', async () => {
    const backend = await backends.start('wadmin');
    const name = await service([backend.url]);
    const gateway = await serve(['--workers', '2'], { ETCD_EDGE_ADMIN_PORT: '0' });
    await until(() => /admin on http/.test(gateway.process.stderr), 5_000);
    const adminUrl = /admin on (http:\/\/\S+)\/_edge\//.exec(gateway.process.stderr)![1]!;
    expect(adminUrl).not.toBe(gateway.url);
    for (let i = 0; i < 10; i++) expect((await fresh(gateway, `/svc/${name}/x`)).status).toBe(200);
    expect((await fresh(gateway, '/_edge/health')).status).toBe(404);
    const text = await (await fetch(`${adminUrl}/_edge/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    expect([...perWorker(text).values()].reduce((a, b) => a + b, 0)).toBe(10);
    expect((await fetch(`${adminUrl}/_edge/health`)).status).toBe(401);
  });

  it('replaces a worker that dies; requests keep being answered', async () => {
    const backend: Backend = await backends.start('wr');
    const name = await service([backend.url]);
    const gateway = await serve();
    for (let i = 0; i < 4; i++) expect((await fresh(gateway, `/svc/${name}/x`)).status).toBe(200);
    const etcdCalls = sample(await metrics(gateway), 'etcd_edge_etcd_calls_total{outcome="ok"}');
    const [victim] = descendants(gateway.pid!);
    process.kill(victim!, 'SIGKILL');
    // Once the primary knows (it says so), no connection is handed to the dead worker. Before that, node:cluster
    // may hand one to it, and that connection waits for the client's timeout: a window of the primary's reaction time.
    await until(() => /exited \(SIGKILL\); starting another/.test(gateway.process.stderr), 5_000);
    expect(running(victim!)).toBe(false);
    for (let i = 0; i < 10; i++) expect((await fresh(gateway, `/svc/${name}/x`)).status).toBe(200);
    // The replacement counts once it listens: the primary lists it in the metrics then.
    await until(async () => perWorker(await metrics(gateway)).size === 2, 20_000);
    expect(descendants(gateway.pid!)).not.toContain(victim);
    const answered = new Set<number>();
    for (let i = 0; i < 10; i++) expect((await fresh(gateway, `/svc/${name}/x`)).status).toBe(200);
    for (const [pid, n] of perWorker(await metrics(gateway))) if (n > 0) answered.add(pid);
    expect(answered.size).toBe(2);
    // The replacement got its snapshot from the primary's memory: etcd was not asked again.
    expect(sample(await metrics(gateway), 'etcd_edge_etcd_calls_total{outcome="ok"}')).toBe(etcdCalls);
  });

  it('takes its workers down when the primary is killed: no orphan', async () => {
    const gateway = await serve();
    const workers = descendants(gateway.pid!);
    gateway.process.child.kill('SIGKILL');
    await gateway.process.exited;
    await until(() => workers.every((pid) => !running(pid)), 10_000);
  });

  it('drains every worker on SIGTERM and exits 0', async () => {
    const backend = await backends.start('wt');
    const name = await service([backend.url]);
    const gateway = await serve();
    const workers = descendants(gateway.pid!);
    const slow = [fresh(gateway, `/svc/${name}/slow/800`), fresh(gateway, `/svc/${name}/slow/800`)];
    await until(() => backend.requests === 2, 5_000);
    const exited = gateway.process.kill('SIGTERM');
    for (const answer of await Promise.all(slow)) expect(answer.status).toBe(200);
    expect((await exited).code).toBe(0);
    expect(workers.every((pid) => !running(pid))).toBe(true);
  });

  it('restarts its workers one at a time on SIGHUP without failing a request', async () => {
    const backend = await backends.start('wh');
    const name = await service([backend.url]);
    const gateway = await serve();
    const old = descendants(gateway.pid!);
    let ok = 0;
    const failures: string[] = [];
    let running_ = true;
    const loop = async (): Promise<void> => {
      while (running_) {
        try {
          const response = await fetch(`${gateway.url}/svc/${name}/x`);
          await response.arrayBuffer();
          if (response.status === 200) ok++;
          else failures.push(String(response.status));
        } catch (error) {
          failures.push(String((error as Error).cause ?? error));
        }
      }
    };
    const loops = [loop(), loop(), loop(), loop()];
    await until(() => ok > 50, 10_000);
    gateway.process.child.kill('SIGHUP');
    await until(() => /workers restarted/.test(gateway.process.stderr), 30_000);
    const during = ok;
    await until(() => ok > during + 50, 10_000);
    running_ = false;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    const now = descendants(gateway.pid!);
    expect(now).toHaveLength(2);
    for (const pid of old) expect(now).not.toContain(pid);
    expect(ok).toBeGreaterThan(100);
  }, 90_000);

  it('re-reads --config on SIGHUP: new workers and the primary run on it; a file that does not parse or moves a listener changes nothing', async () => {
    const backend = await backends.start('we');
    const name = await service([backend.url]);
    const file = join(mkdtempSync(join(tmpdir(), 'etcd-edge-config-')), 'edge.env');
    const [first, second] = ['first-admin-token-0123456789', 'second-admin-token-0123456789'];
    writeFileSync(file, `# the gateway's settings\nETCD_EDGE_MAX_BODY_BYTES=1000\nADMIN_TOKEN="${first}"\n`);
    const gateway = await serve(['--workers', '2', '--config', file]);
    const post = () => rawRequest(gateway.url, `/svc/${name}/up`, { method: 'POST', body: 'x'.repeat(2_000) });
    const admin = async (token: string) => (await fetch(`${gateway.url}/_edge/health`, { headers: { authorization: `Bearer ${token}` } })).status;
    // Fresh connections reach both workers: every one of them runs on the file.
    for (let i = 0; i < 4; i++) expect((await post()).status).toBe(413);
    expect(await admin(first)).toBe(200);

    writeFileSync(file, `ETCD_EDGE_MAX_BODY_BYTES=100000\nADMIN_TOKEN=${second}\n`);
    const hangups = (): number => gateway.process.stderr.split('workers restarted').length - 1;
    gateway.process.child.kill('SIGHUP');
    await until(() => hangups() === 1, 40_000);
    expect(gateway.process.stderr).toContain(`with the configuration read from ${file}`);
    for (let i = 0; i < 4; i++) expect((await post()).status).toBe(200);
    // Admin is the primary's: it was rebuilt on the new file too.
    expect([await admin(first), await admin(second)]).toEqual([401, 200]);
    const workers = descendants(gateway.pid!);

    for (const [text, said] of [
      ['ETCD_EDGE_STRATEGY=fastest\n', /configuration not reloaded, every worker keeps the one it has: ETCD_EDGE_STRATEGY/],
      [`ETCD_EDGE_ADMIN_PORT=1\nADMIN_TOKEN=${second}\n`, /configuration not reloaded[^\n]*a new admin listener/],
    ] as const) {
      writeFileSync(file, text);
      gateway.process.child.kill('SIGHUP');
      await until(() => said.test(gateway.process.stderr), 10_000);
    }
    rmSync(file);
    gateway.process.child.kill('SIGHUP');
    await until(() => /configuration not reloaded[^\n]*no such file/.test(gateway.process.stderr), 10_000);
    expect(hangups()).toBe(1);
    expect(descendants(gateway.pid!)).toEqual(workers);
    expect((await post()).status).toBe(200);
    expect(await admin(second)).toBe(200);
  }, 90_000);

  it('serves TLS from every worker and rotates the certificate on SIGHUP', async () => {
    const backend = await backends.start('wtls');
    const name = await service([backend.url]);
    const [before, after] = await Promise.all([makeTestPki(), makeTestPki()]);
    const dir = mkdtempSync(join(tmpdir(), 'etcd-edge-tls-'));
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    copyFileSync(before.serverCert, cert);
    copyFileSync(before.serverKey, key);
    try {
      const gateway = await serve(['--workers', '2', '--tls-cert', cert, '--tls-key', key]);
      expect(gateway.url).toMatch(/^https:\/\//);
      // Fresh connections reach both workers; each verifies against the CA that signed what it was given.
      const status = (caFile: string) => httpsStatus(`${gateway.url}/svc/${name}/x`, readFileSync(caFile));
      for (let i = 0; i < 4; i++) expect(await status(before.caFile)).toBe(200);
      copyFileSync(after.serverCert, cert);
      copyFileSync(after.serverKey, key);
      gateway.process.child.kill('SIGHUP');
      await until(() => /workers restarted/.test(gateway.process.stderr), 40_000);
      for (let i = 0; i < 4; i++) expect(await status(after.caFile)).toBe(200);
      await expect(status(before.caFile)).rejects.toThrow(/self.signed|unable to verify|certificate/i);
    } finally {
      await Promise.all([before.remove(), after.remove()]);
    }
  }, 90_000);
});

/** The status of a GET over HTTPS on a connection of its own, trusting only `ca`. */
function httpsStatus(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { ca, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
  });
}
