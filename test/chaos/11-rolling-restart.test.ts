import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { Backends, type Backend } from '../support/backend.js';
import { descendants, running } from '../support/cli-process.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { startServeProcess } from '../support/node-gateway.js';
import { until } from '../support/until.js';
import { failureSummary, LoadLoop } from './support/load.js';
import { FULL, n, record, scale } from './support/mode.js';

/**
 * `etcd-edge serve --workers 2` in front of two instances registered in etcd,
 * under steady keep-alive GET and POST load for the whole run: SIGHUP
 * (rolling restart) several times, then, at full scale, one worker SIGKILLed.
 * A restart must fail no request; a killed worker only those under way on it,
 * and the primary must bring the count back to two. SIGTERM ends it with 0.
 */
const SERVICE = 'rolling';
const WORKERS = 2;
const RESTARTS = scale(1, 3);
const GET_CLIENTS = scale(3, 6);
const POST_CLIENTS = scale(2, 4);
const CLIENTS = GET_CLIENTS + POST_CLIENTS;
/** Answers (GET and POST together) between faults: the steady traffic they are compared with. */
const STEADY_ANSWERS = scale(300, 3_000);
/** Each restart hands over two workers, each keeping its connections HAND_OVER_MS (5.5 s). */
const RESTART_MS = 40_000;
const EXIT_MS = 10_000;
const TIMEOUT = scale(60_000, 300_000);

let cluster: EtcdCluster;
let servers: Backend[] = [];
const backends = new Backends();
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  cluster = await startEtcd();
  servers = await Promise.all(['r1', 'r2'].map((name) => backends.start(`${SERVICE}-${name}`)));
  const etcd = new EtcdClient({ endpoints: cluster.endpoints });
  const native = nativeLayout();
  for (const server of servers) {
    const { key, value } = native.encode({ service: SERVICE, id: server.name, url: server.url, weight: 1, tags: {} });
    await etcd.put(key, value);
  }
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await backends.closeAll();
  await cluster?.close();
}, 60_000);

/** One request as the client saw it: when it was sent and answered (ms since the epoch), and whether it succeeded. */
interface Timed {
  sent: number;
  answered: number;
  ok: boolean;
}

/** Times every request of a load loop: `path` is called as each is sent, `onAnswer` as it comes back. */
function timed(start: (path: (i: number) => string) => LoadLoop): { loop: LoadLoop; requests: Timed[] } {
  const sentAt = new Map<number, number>();
  const requests: Timed[] = [];
  const loop = start((i) => {
    sentAt.set(i, Date.now());
    return `/svc/${SERVICE}/${i}`;
  });
  loop.onAnswer = ({ i, status }) => {
    requests.push({ sent: sentAt.get(i)!, answered: Date.now(), ok: status >= 200 && status < 300 });
    sentAt.delete(i);
  };
  return { loop, requests };
}

function p99(requests: readonly Timed[]): number {
  const sorted = requests.map((r) => r.answered - r.sent).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] ?? 0;
}

const within = (r: Timed, window: { from: number; to: number }): boolean => r.sent <= window.to && r.answered >= window.from;

describe('rolling restart under load', () => {
  it('fails no request across SIGHUPs, only those under way on a killed worker, keeps two workers, and exits 0 on SIGTERM', async () => {
    const gateway = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_ALLOW_LOOPBACK: 'true' }, ['--workers', String(WORKERS)]);
    cleanups.push(() => gateway.close());
    const primary = gateway.pid!;
    const workers = (): number[] => descendants(primary);
    await until(() => workers().length === WORKERS, 20_000);

    const gets = timed((path) => LoadLoop.start({ base: gateway.url, path, headers: (i) => ({ 'x-request-id': `get-${i}` }), concurrency: GET_CLIENTS }));
    const posts = timed((path) =>
      LoadLoop.start({ base: gateway.url, method: 'POST', path, headers: (i) => ({ 'x-request-id': `post-${i}`, 'content-type': 'text/plain' }), body: (i) => 'p'.repeat(16 + (i % 50) * 8), concurrency: POST_CLIENTS }),
    );
    cleanups.push(() => Promise.all([gets.loop.stop(), posts.loop.stop()]));
    const all = (): Timed[] => [...gets.requests, ...posts.requests];
    const failed = (): number => gets.loop.failed + posts.loop.failed;
    const steady = () => Promise.all([gets.loop.answers(STEADY_ANSWERS / 2, 60_000), posts.loop.answers(STEADY_ANSWERS / 2, 60_000)]);
    await steady();

    const restarts: { from: number; to: number; replaced: boolean }[] = [];
    for (let k = 1; k <= RESTARTS; k++) {
      const before = workers();
      const from = Date.now();
      gateway.process.child.kill('SIGHUP');
      await until(() => (gateway.process.stderr.match(/workers restarted/g) ?? []).length === k, RESTART_MS);
      const to = Date.now();
      await until(() => workers().length === WORKERS, 10_000);
      restarts.push({ from, to, replaced: workers().every((pid) => !before.includes(pid)) });
      await steady();
    }
    expect(failed(), 'requests failed across the SIGHUPs').toBe(0);
    expect(restarts.every((r) => r.replaced), 'every worker replaced by each SIGHUP').toBe(true);

    let kill: { at: number; replacedMs: number; failures: number } | undefined;
    if (FULL) {
      const [victim] = workers();
      const at = Date.now();
      process.kill(victim!, 'SIGKILL');
      await until(() => /exited \(SIGKILL\); starting another/.test(gateway.process.stderr), 5_000);
      await until(() => workers().length === WORKERS && !workers().includes(victim!), 20_000);
      const replacedMs = Date.now() - at;
      expect(running(victim!)).toBe(false);
      await steady();
      const failures = all().filter((r) => !r.ok);
      // Each client has one request under way at a time: at most one each can have been on the dead worker.
      expect(failures.length, 'requests failed by the killed worker').toBeLessThanOrEqual(CLIENTS);
      for (const r of failures) expect(r.sent, 'a request sent after the replacement failed').toBeLessThan(at + replacedMs);
      // Routing goes on: the traffic after the kill was answered.
      expect(all().filter((r) => r.sent > at + replacedMs && r.ok).length).toBeGreaterThanOrEqual(STEADY_ANSWERS / 2);
      kill = { at, replacedMs, failures: failures.length };
    }

    const getReport = await gets.loop.stop();
    const postReport = await posts.loop.stop();
    expect(workers()).toHaveLength(WORKERS);
    // No POST ran twice, whatever happened to its worker.
    const twice = servers.flatMap((s) => [...s.seen]).filter(([id, count]) => id.startsWith('post-') && count > 1);
    expect(twice, 'POSTs executed more than once').toEqual([]);

    const pids = workers();
    const stopAt = Date.now();
    const exited = await gateway.process.kill('SIGTERM');
    const exitMs = Date.now() - stopAt;
    expect(exited.code, gateway.process.stderr).toBe(0);
    expect(exitMs).toBeLessThan(EXIT_MS);
    expect(pids.every((pid) => !running(pid))).toBe(true);

    const requests = all();
    const during = restarts.map((window) => requests.filter((r) => within(r, window)));
    const quiet = requests.filter((r) => !restarts.some((w) => within(r, w)) && !(kill && r.answered >= kill.at && r.sent <= kill.at + kill.replacedMs));
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    const lost = kill
      ? `${kill.failures} request${kill.failures === 1 ? '' : 's'} under way on the killed worker; nothing across the SIGHUPs; no POST ran twice`
      : 'nothing; no POST ran twice';
    record({
      id: 11,
      scenario: 'Rolling restart under load',
      load: `etcd-edge serve --workers ${WORKERS}, ${GET_CLIENTS} GET + ${POST_CLIENTS} POST keep-alive clients (bodies 16–408 B), ${n(getReport.sent)} GETs + ${n(postReport.sent)} POSTs to 2 instances in etcd over ${seconds(getReport.durationMs)}`,
      fault: `SIGHUP ×${RESTARTS} (each replaces both workers, one at a time)${kill ? '; then one worker SIGKILLed' : ''}; SIGTERM at the end`,
      failures: `GET ${failureSummary(getReport)}; POST ${failureSummary(postReport)}; 0 during the SIGHUPs`,
      lost,
      figures: [
        `requests during each restart ${during.map((d) => n(d.length)).join(', ')}`,
        `restart took ${restarts.map((r) => seconds(r.to - r.from)).join(', ')} (SIGHUP to "workers restarted")`,
        `p99 ${p99(during.flat())} ms during restarts vs ${p99(quiet)} ms steady`,
        ...(kill ? [`killed worker replaced (2 workers again) ${n(kill.replacedMs)} ms after the kill`] : []),
        `exit 0 ${n(exitMs)} ms after SIGTERM`,
      ].join('; '),
    });
  }, TIMEOUT);
});
