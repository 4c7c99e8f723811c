import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backends, type Backend } from '../support/backend.js';
import { cli, CliProcess } from '../support/cli-process.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { startServeProcess } from '../support/node-gateway.js';
import { makeTestPki, type TestPki } from '../support/test-ca.js';
import { until } from '../support/until.js';
import { failureSummary, LoadLoop, type LoadReport } from './support/load.js';
import { n, record, scale } from './support/mode.js';

const ANSWERS = scale(600, 10_000);
/** Short, so keepalives and the registrar's key checks run over TLS many times during the load. */
const REGISTER_TTL_S = 3;
const ADMIN_TOKEN = 'chaos-admin-token-0123456789';
const admin = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
/** The gateway's start-up and shutdown lines; anything else in its log is news. */
const ROUTINE = /Z (etcd https\S+; layouts |shutting down: draining|stopped$)/;
const SERVER_CERT = "etcd's certificate is not signed by a trusted CA";
const CLIENT_CERT = 'etcd refused the client certificate (none given, or not signed by a CA it trusts)';

let pki: TestPki;
let cluster: EtcdCluster;
let endpoint: string;
let tls: string[];
const backends = new Backends();
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  pki = await makeTestPki();
  cluster = await startEtcd({ tls: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caFile } });
  endpoint = cluster.endpoints[0]!;
  tls = ['--etcd', endpoint, '--cacert', pki.caFile, '--cert', pki.clientCert, '--key', pki.clientKey];
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await backends.closeAll();
  await cluster?.close();
  await pki?.remove();
}, 60_000);

async function gateway(args: string[], env: Record<string, string> = {}) {
  const g = await startServeProcess({ ADMIN_TOKEN, ETCD_EDGE_ALLOW_LOOPBACK: 'true', ...env }, args);
  cleanups.push(() => g.close());
  return g;
}

function registrar(service: string, url: string): CliProcess {
  const process = new CliProcess(['register', service, url, '--ttl', String(REGISTER_TTL_S), ...tls]);
  cleanups.push(() => process.kill('SIGKILL'));
  return process;
}

async function instancesOf(base: string, service: string): Promise<string[]> {
  const res = await fetch(`${base}/_edge/services/${service}`, admin);
  if (res.status !== 200) return [];
  return ((await res.json()) as { instances: { url: string }[] }).instances.map((i) => i.url).sort();
}

const lines = (text: string) => text.split('\n').filter(Boolean);

describe('chaos 7: etcd over TLS with client certificates', () => {
  let report: LoadReport | undefined;
  let seenWithinMs = 0;

  it('serves, registers and lists through etcd over mutual TLS (watch and cache mode)', async () => {
    const [a, b] = [await backends.start('tls-a'), await backends.start('tls-b')];
    const first = registrar('orders', a.url);
    await until(() => first.stdout.includes('registered ') || first.child.exitCode !== null, 15_000);
    expect(first.stdout, first.stderr).toMatch(/^registered services\/orders\//);
    const watching = await gateway(tls);
    const caching = await gateway([...tls, '--watch', 'off', '--cache-ttl', '500']);
    const bases = [watching.url, caching.url];
    for (const base of bases) expect(await instancesOf(base, 'orders')).toEqual([a.url]);

    const loop = LoadLoop.start({ base: watching.url, path: (i) => `${bases[i % 2]}/svc/orders/tls/${i}`, concurrency: 4 });
    try {
      await loop.answers(ANSWERS / 2, 120_000);
      // A second instance registers over TLS; the watch (a TLS stream) and the cache both pick it up.
      const second = registrar('orders', b.url);
      const registered = Date.now();
      await until(() => second.stdout.includes('registered '), 15_000);
      await until(async () => (await instancesOf(watching.url, 'orders')).length === 2, 15_000);
      seenWithinMs = Date.now() - registered;
      await until(async () => (await instancesOf(caching.url, 'orders')).length === 2, 15_000);
      await loop.answers(ANSWERS / 2, 120_000);
      expect(await second.kill('SIGTERM')).toMatchObject({ code: 0 });
      await until(async () => (await instancesOf(watching.url, 'orders')).length === 1, 15_000);
    } finally {
      report = await loop.stop();
    }
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    expect(a.requests).toBeGreaterThan(0);
    expect(b.requests).toBeGreaterThan(0);

    const ls = cli(['ls', 'orders', ...tls]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain(a.url);
    expect(ls.stdout).not.toContain(b.url);
    expect(await first.kill('SIGTERM')).toMatchObject({ code: 0 });
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/\nderegistered services\/orders\//);
    for (const g of [watching, caching]) expect(lines(g.process.stderr).filter((l) => !ROUTINE.test(l)), g.process.stderr).toEqual([]);
  }, scale(60_000, 600_000));

  it('names a wrong CA in one line: gateway warning and health, CLI exit 1 without a stack trace', async () => {
    const wrong = ['--etcd', endpoint, '--cacert', pki.otherCaFile, '--cert', pki.clientCert, '--key', pki.clientKey];
    const g = await gateway(wrong);
    await until(() => lines(g.process.stderr).length >= 2, 10_000);
    const health = await (await fetch(`${g.url}/_edge/health`, admin)).json();
    expect(health).toMatchObject({ status: 'degraded', etcd: { reachable: false, error: 'ETCD_UNAVAILABLE', reason: SERVER_CERT } });
    const answer = await fetch(`${g.url}/svc/orders/x`);
    expect(answer.status).toBe(503);
    expect(await answer.json()).toMatchObject({ error: { code: 'ETCD_UNAVAILABLE' } });
    expect(lines(g.process.stderr).filter((l) => !ROUTINE.test(l))).toEqual([
      expect.stringMatching(new RegExp(`Z warning: cannot reach etcd at ${endpoint} \\(${SERVER_CERT}: check --cacert\\); requests get 503`)),
    ]);
    for (const command of [['ls', 'orders'], ['register', 'orders', 'http://127.0.0.1:9']]) {
      expect(cli([...command, ...wrong])).toEqual({ code: 1, stdout: '', stderr: `etcd-edge: cannot reach etcd at ${endpoint} (${SERVER_CERT}: check --cacert)\n` });
    }
  }, 30_000);

  it('names a missing or untrusted client certificate in one line', async () => {
    const g = await gateway(['--etcd', endpoint, '--cacert', pki.caFile]);
    await until(() => lines(g.process.stderr).length >= 2, 10_000);
    const health = await (await fetch(`${g.url}/_edge/health`, admin)).json();
    expect(health).toMatchObject({ status: 'degraded', etcd: { reachable: false, reason: CLIENT_CERT } });
    expect(lines(g.process.stderr).filter((l) => !ROUTINE.test(l))).toEqual([
      expect.stringContaining(`warning: cannot reach etcd at ${endpoint} (${CLIENT_CERT}: check --cert and --key); requests get 503`),
    ]);
    // No client certificate, and one the server's CA did not sign (the CA file's key as a certificate would not load, so use the other CA's).
    for (const flags of [['--cacert', pki.caFile], ['--cacert', pki.caFile, '--cert', pki.otherCaFile, '--key', pki.otherCaFile.replace(/\.pem$/, '.key')]]) {
      for (const command of [['ls', 'orders'], ['register', 'orders', 'http://127.0.0.1:9']]) {
        expect(cli([...command, '--etcd', endpoint, ...flags])).toEqual({
          code: 1,
          stdout: '',
          stderr: `etcd-edge: cannot reach etcd at ${endpoint} (${CLIENT_CERT}: check --cert and --key)\n`,
        });
      }
    }
    record({
      id: 7,
      scenario: 'etcd over mutual TLS',
      load: `4 clients, GET, ${n(report!.sent)} requests over a watch-mode and a cache-mode gateway; registrars on ${REGISTER_TTL_S} s leases`,
      fault: 'etcd requires client certificates; a second instance joins and leaves; wrong CA; client certificate missing or from another CA',
      failures: failureSummary(report!),
      lost: 'nothing',
      figures: `new instance seen by the watch-mode gateway ${n(seenWithinMs)} ms after its registrar started; wrong CA and refused client certificate: one line each (gateway warning, health reason, CLI exit 1)`,
    });
  }, 30_000);
});
