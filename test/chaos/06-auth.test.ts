import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { Backends, type Backend } from '../support/backend.js';
import { cli, CliProcess } from '../support/cli-process.js';
import { enableAuth } from '../support/etcd-auth.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { startServeProcess } from '../support/node-gateway.js';
import { until } from '../support/until.js';
import { AuthRecordingProxy } from './support/auth-recording-proxy.js';
import { failureSummary, LoadLoop, type LoadReport } from './support/load.js';
import { n, record, scale } from './support/mode.js';

// etcd 3.4 drops a simple token once it has gone unused for --auth-token-ttl
// seconds (a sweeper checks every second), so after an idle spell of
// TTL + 1.5 s the next call of every client carries an expired token.
const TOKEN_TTL_S = 2;
const IDLE_MS = TOKEN_TTL_S * 1_000 + 1_500;
const ROUNDS = scale(2, 20);
const ANSWERS_PER_ROUND = scale(150, 1_000);
/** The registrar's keepalive (TTL/3) and key check (TTL/2) each come after a token has expired. */
const REGISTER_TTL_S = 9;
/** How long the gateways run with a wrong password while being asked. */
const WRONG_PASSWORD_MS = scale(3_000, 10_000);

const USER = 'edge';
const PASSWORD = `pw-${randomUUID()}`;
const ADMIN_TOKEN = 'chaos-admin-token-0123456789';
const admin = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
/** etcd 3.4's simple token: 16 random letters, a dot, the auth store revision. */
const SIMPLE_TOKEN = /[A-Za-z]{16}\.\d+/;

let cluster: EtcdCluster;
let etcd: EtcdClient;
let backend: Backend;
const backends = new Backends();
const proxies: AuthRecordingProxy[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
/** Every response body, log and metric any process produced, scanned for secrets at the end. */
const seen: { where: string; text: string }[] = [];
const native = nativeLayout();

beforeAll(async () => {
  cluster = await startEtcd({ authTokenTtl: TOKEN_TTL_S });
  await enableAuth(cluster.endpoints[0]!, { username: USER, password: PASSWORD });
  etcd = new EtcdClient({ endpoints: cluster.endpoints, username: USER, password: PASSWORD });
  backend = await backends.start('auth');
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  for (const proxy of proxies) await proxy.close();
  await backends.closeAll();
  await cluster?.close();
}, 60_000);

async function recordingProxy(): Promise<AuthRecordingProxy> {
  const proxy = await AuthRecordingProxy.start(cluster.endpoints[0]!);
  proxies.push(proxy);
  return proxy;
}

async function gateway(name: string, proxy: AuthRecordingProxy, env: Record<string, string>) {
  const g = await startServeProcess({ ETCD_ENDPOINTS: proxy.url, ETCD_EDGE_ALLOW_LOOPBACK: 'true', ETCD_USERNAME: USER, ADMIN_TOKEN, ...env });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await g.close();
    keep(`${name} stdout`, g.process.stdout);
    keep(`${name} stderr`, g.process.stderr);
  };
  cleanups.push(stop);
  return { ...g, stop };
}

function keep(where: string, text: string): string {
  seen.push({ where, text });
  return text;
}

async function adminGet(base: string, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}${path}`, admin);
  return { status: res.status, text: keep(`admin ${path}`, await res.text()) };
}

/** One CLI run, its output kept for the scan. */
function run(args: string[], env: Record<string, string> = {}) {
  const result = cli(args, env);
  keep(`etcd-edge ${args[0]} stdout`, result.stdout);
  keep(`etcd-edge ${args[0]} stderr`, result.stderr);
  return result;
}

function merged(reports: LoadReport[]): LoadReport {
  const statuses: Record<string, number> = {};
  for (const r of reports) for (const [s, c] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + c;
  return {
    sent: reports.reduce((a, r) => a + r.sent, 0),
    ok: reports.reduce((a, r) => a + r.ok, 0),
    failed: reports.reduce((a, r) => a + r.failed, 0),
    statuses,
    failures: reports.flatMap((r) => r.failures).slice(0, 50),
    latencyMs: { p50: Math.max(...reports.map((r) => r.latencyMs.p50)), p99: Math.max(...reports.map((r) => r.latencyMs.p99)), max: Math.max(...reports.map((r) => r.latencyMs.max)) },
    durationMs: reports.reduce((a, r) => a + r.durationMs, 0),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lines = (text: string) => text.split('\n').filter(Boolean);
/** The gateway's start-up and shutdown lines; anything else in its log is news. */
const ROUTINE = /Z (etcd http\S+; layouts |shutting down: draining|stopped$)/;

describe('chaos 6: etcd auth with expiring tokens', () => {
  const figures = { gatewayLogins: 0, gatewayExpired: 0, registrarLogins: 0, registrarExpired: 0, wrongLogins: 0 };
  let report: LoadReport | undefined;

  it('keeps the gateway (watch and cache mode) and the registrar working across token expiry', async () => {
    const watchProxy = await recordingProxy();
    const cacheProxy = await recordingProxy();
    const registrarProxy = await recordingProxy();
    const registrar = new CliProcess(
      ['register', 'orders', backend.url, '--ttl', String(REGISTER_TTL_S), '--etcd', registrarProxy.url, '--user', USER, '--password', PASSWORD],
    );
    cleanups.push(() => registrar.kill('SIGKILL'));
    await until(() => registrar.stdout.includes('registered ') || registrar.child.exitCode !== null, 15_000);
    expect(registrar.stdout, registrar.stderr).toMatch(/^registered services\/orders\//);
    const watching = await gateway('watch gateway', watchProxy, { ETCD_PASSWORD: PASSWORD });
    const caching = await gateway('cache gateway', cacheProxy, { ETCD_PASSWORD: PASSWORD, ETCD_EDGE_WATCH: '0', ETCD_EDGE_CACHE_TTL_MS: '500' });
    const bases = [watching.url, caching.url];
    // Each gateway logs in now, so even the first round's burst finds its token expired.
    for (const base of bases) expect((await fetch(`${base}/svc/orders/warm-up`)).status).toBe(200);

    const reports: LoadReport[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // A service neither gateway has read: its first request needs an etcd call after the idle spell.
      const fresh = native.encode({ service: `round-${round}`, url: backend.url });
      await etcd.put(fresh.key, fresh.value);
      // Nobody calls etcd now, so every token the gateways and the registrar hold expires.
      await sleep(IDLE_MS);
      const loop = LoadLoop.start({
        base: watching.url,
        path: (i) => `${bases[i % 2]}/svc/${(i >> 1) % 2 === 0 ? 'orders' : `round-${round}`}/r${round}/${i}`,
        concurrency: 4,
      });
      loop.onAnswer = ({ body }) => void keep('proxied answer', body);
      try {
        await loop.answers(ANSWERS_PER_ROUND, 60_000);
      } finally {
        reports.push(await loop.stop());
      }
      for (const base of bases) {
        expect(JSON.parse((await adminGet(base, '/_edge/health')).text)).toMatchObject({ status: 'ok', etcd: { reachable: true } });
        const view = JSON.parse((await adminGet(base, '/_edge/services/orders')).text) as { instances: { url: string }[] };
        expect(view.instances.map((i) => i.url)).toEqual([backend.url]);
        await adminGet(base, '/_edge/metrics');
      }
    }
    report = merged(reports);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    expect(report.ok).toBeGreaterThanOrEqual(ROUNDS * ANSWERS_PER_ROUND);

    // The gateways' tokens did expire, and they logged in again rather than failing.
    for (const proxy of [watchProxy, cacheProxy]) {
      expect(proxy.staleTokenCalls).toBeGreaterThanOrEqual(ROUNDS);
      expect(proxy.logins).toBeGreaterThan(ROUNDS);
    }
    figures.gatewayLogins = watchProxy.logins + cacheProxy.logins;
    figures.gatewayExpired = watchProxy.staleTokenCalls + cacheProxy.staleTokenCalls;

    // The registration stayed: same key, no loss, no failed keepalive, and it is deregistered cleanly after one more idle spell.
    expect(run(['ls', 'orders'], { ETCD_ENDPOINTS: cluster.endpoints[0]!, ETCD_USERNAME: USER, ETCD_PASSWORD: PASSWORD }).stdout).toContain(backend.url);
    expect(registrar.stderr).toBe('');
    await sleep(IDLE_MS);
    expect(await registrar.kill('SIGTERM')).toMatchObject({ code: 0 });
    expect(registrar.stdout).toMatch(/\nderegistered services\/orders\//);
    expect(registrar.stderr).toBe('');
    keep('registrar stdout', registrar.stdout);
    expect((await etcd.range({ prefix: 'services/orders/' })).kvs).toHaveLength(0);
    expect(registrarProxy.logins).toBeGreaterThan(1);
    figures.registrarLogins = registrarProxy.logins;
    figures.registrarExpired = registrarProxy.staleTokenCalls;

    await watching.stop();
    await caching.stop();
    for (const g of [watching, caching]) expect(lines(g.process.stderr).filter((l) => !ROUTINE.test(l)), g.process.stderr).toEqual([]);
  }, scale(90_000, 600_000));

  it('says once that the password is wrong: gateway health and 503s, one log line, no login storm; CLI one line, exit 1', async () => {
    const proxy = await recordingProxy();
    const watching = await gateway('wrong-password watch gateway', proxy, { ETCD_PASSWORD: 'wrong-password' });
    const caching = await gateway('wrong-password cache gateway', proxy, { ETCD_PASSWORD: 'wrong-password', ETCD_EDGE_WATCH: '0' });
    const started = Date.now();
    const statuses: Record<number, number> = {};
    while (Date.now() - started < WRONG_PASSWORD_MS) {
      for (const base of [watching.url, caching.url]) {
        const res = await fetch(`${base}/svc/orders/x`);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        expect(JSON.parse(keep('proxied answer', await res.text()))).toMatchObject({ error: { code: 'ETCD_UNAVAILABLE' } });
        expect(JSON.parse((await adminGet(base, '/_edge/health')).text)).toMatchObject({
          status: 'degraded',
          etcd: { reachable: false, error: 'ETCD_AUTH_FAILED' },
        });
      }
      // Under 10 lookups a second per gateway: faster, a never-seen name is rationed (503 NO_INSTANCES) before etcd is asked.
      await sleep(150);
    }
    const seconds = (Date.now() - started) / 1_000;
    expect(Object.keys(statuses)).toEqual(['503']);
    figures.wrongLogins = proxy.calls.filter((c) => c.path === '/v3/auth/authenticate').length;
    expect(proxy.logins).toBe(0);
    // Refused credentials are tried again every 5 s per client (the start-up probe is one more), however often the gateway is asked.
    expect(figures.wrongLogins).toBeLessThanOrEqual(2 * (2 + Math.ceil(seconds / 5)));
    for (const g of [watching, caching]) {
      const log = lines(g.process.stderr).filter((l) => !ROUTINE.test(l));
      expect(log, g.process.stderr).toEqual([expect.stringMatching(/Z warning: etcd rejected the username or password; requests get 503 ETCD_UNAVAILABLE until etcd accepts the credentials$/)]);
    }

    for (const command of [['ls', 'orders'], ['register', 'orders', backend.url]]) {
      const result = run([...command, '--etcd', cluster.endpoints[0]!, '--user', USER, '--password', 'wrong-password']);
      expect(result).toMatchObject({ code: 1, stdout: '', stderr: 'etcd-edge: etcd rejected the username or password\n' });
    }
    await watching.stop();
    await caching.stop();
  }, scale(60_000, 120_000));

  it('never shows the password or a token in any answer, log line or metric', async () => {
    const own = await fetch(`${cluster.endpoints[0]}/v3/auth/authenticate`, { method: 'POST', body: JSON.stringify({ name: USER, password: PASSWORD }) });
    const token = ((await own.json()) as { token: string }).token;
    expect(token).toMatch(new RegExp(`^${SIMPLE_TOKEN.source}$`));
    const tokens = [token, ...proxies.flatMap((p) => p.tokens())];
    expect(tokens.length).toBeGreaterThan(ROUNDS * 2);
    expect(seen.length).toBeGreaterThan(ROUNDS * ANSWERS_PER_ROUND);
    const secrets = [PASSWORD, 'wrong-password', ...new Set(tokens)];
    const leaks = seen.flatMap(({ where, text }) => {
      const found = secrets.filter((secret) => text.includes(secret));
      const shaped = SIMPLE_TOKEN.exec(text)?.[0];
      return found.length > 0 || shaped ? [`${where}: ${[...found, shaped].filter(Boolean).join(', ')} in ${text.slice(0, 500)}`] : [];
    });
    expect(leaks).toEqual([]);
    record({
      id: 6,
      scenario: 'etcd auth, token expiry',
      load: `4 clients, GET, ${n(report!.sent)} requests in ${ROUNDS} bursts over a watch-mode and a cache-mode gateway`,
      fault: `simple tokens expire (--auth-token-ttl ${TOKEN_TTL_S}); ${(IDLE_MS / 1_000).toFixed(1)} s idle before each burst; wrong password`,
      failures: failureSummary(report!),
      lost: 'nothing (registration kept its key and lease)',
      figures: `gateways: ${figures.gatewayExpired} calls with an expired token, ${figures.gatewayLogins} logins; registrar: ${figures.registrarExpired} expired, ${figures.registrarLogins} logins; wrong password: 1 log line, ${figures.wrongLogins} login attempts in ${WRONG_PASSWORD_MS / 1_000} s; no password or token in ${n(seen.length)} bodies, logs, metrics`,
    });
  }, scale(20_000, 120_000));
});
