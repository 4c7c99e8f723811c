import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { startServeProcess } from '../support/node-gateway.js';
import { until } from '../support/until.js';
import { BackendProcess } from './support/backend-process.js';
import { failureSummary, LoadLoop } from './support/load.js';
import { n, record, scale } from './support/mode.js';

/**
 * Three instances of one service, each its own OS process, behind
 * `etcd-edge serve`; one is SIGKILLed under GET and POST load and stays
 * registered in etcd. GETs must all succeed (retried elsewhere), the dead
 * instance must be ejected after ETCD_EDGE_EJECT_AFTER failures and then left
 * alone, and no POST may run twice.
 */
const SERVICE = 'chaos3';
const EJECT_AFTER = 3;
const CLIENTS = scale(4, 8);
/** Answers (GET and POST together) before the kill, and after the ejection. */
const WARM_ANSWERS = scale(120, 1_000);
const AFTER_ANSWERS = scale(300, 3_000);
/** Each answer takes this long at the instance; every fourth takes LONG_WORK_MS, so the kill can catch some under way. */
const WORK_MS = 20;
const LONG_WORK_MS = 300;
const workMs = (i: number): number => (i % 4 === 1 ? LONG_WORK_MS : WORK_MS);
/** Bodies above the gateway's retry buffer (64 KiB) stream through; every fourth POST sends one. */
const LARGE_BODY = 'x'.repeat(100 * 1024);
const TIMEOUT = scale(60_000, 300_000);

const ADMIN_TOKEN = 'chaos-admin-token-0123456789';
const admin = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };

let cluster: EtcdCluster;
let instances: BackendProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  cluster = await startEtcd();
  instances = await Promise.all(['a', 'b', 'c'].map((name) => BackendProcess.start(`${SERVICE}-${name}`)));
  const etcd = new EtcdClient({ endpoints: cluster.endpoints });
  const native = nativeLayout();
  for (const instance of instances) {
    const { key, value } = native.encode({ service: SERVICE, id: instance.name, url: instance.url, weight: 1, tags: {} });
    await etcd.put(key, value);
  }
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await Promise.all(instances.map((i) => i.kill('SIGTERM')));
  await cluster?.close();
}, 60_000);

interface EjectionView {
  consecutiveFailures: number;
  ejections: number;
  ejectedUntil?: number;
}

async function ejectionOf(base: string, url: string): Promise<EjectionView | undefined> {
  const view = (await (await fetch(`${base}/_edge/services/${SERVICE}`, admin)).json()) as { instances: { url: string; ejection?: EjectionView }[] };
  return view.instances.find((i) => i.url === url)?.ejection;
}

function backendOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { backend?: string }).backend;
  } catch {
    return undefined;
  }
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/_edge/metrics`, admin)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in /_edge/metrics`);
  return Number(line.slice(name.length + 1));
}

describe('an instance process dies under load', () => {
  it('retries GETs elsewhere, ejects the dead instance, and never runs a POST twice', async () => {
    const gateway = await startServeProcess({
      ETCD_ENDPOINTS: cluster.endpoints.join(','),
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
      ADMIN_TOKEN,
      ETCD_EDGE_EJECT_AFTER: String(EJECT_AFTER),
      // Longer than the test: the dead instance must stay out once ejected.
      ETCD_EDGE_EJECT_BASE_MS: '300000',
    });
    cleanups.push(() => gateway.close());
    const [victim, ...survivors] = instances as [BackendProcess, ...BackendProcess[]];

    const gets = LoadLoop.start({
      base: gateway.url,
      path: (i) => `/svc/${SERVICE}/slow/${workMs(i)}/get/${i}`,
      headers: (i) => ({ 'x-request-id': `get-${i}` }),
      concurrency: CLIENTS,
    });
    const getAnswers = new Map<string, { status: number; body: string }>();
    gets.onAnswer = ({ i, status, body }) => void getAnswers.set(`get-${i}`, { status, body });
    const postAnswers = new Map<string, { status: number; body: string }>();
    const posts = LoadLoop.start({
      base: gateway.url,
      method: 'POST',
      path: (i) => `/svc/${SERVICE}/slow/${workMs(i)}/post/${i}`,
      headers: (i) => ({ 'x-request-id': `post-${i}`, 'content-type': 'text/plain' }),
      body: (i) => (i % 4 === 3 ? LARGE_BODY : `order ${i}`),
      concurrency: CLIENTS,
    });
    posts.onAnswer = ({ i, status, body }) => void postAnswers.set(`post-${i}`, { status, body });
    const answers = (count: number) => Promise.all([gets.answers(count / 2, TIMEOUT / 2), posts.answers(count / 2, TIMEOUT / 2)]);

    await answers(WARM_ANSWERS);
    expect(victim.seen.size, 'the victim took traffic before the kill').toBeGreaterThan(0);
    // Kill while a long GET and a long POST are surely under way there: received recently, not yet answered.
    const underWay = (prefix: string, answered: Map<string, unknown>): boolean =>
      [...victim.seenAt].some(([id, at]) => id.startsWith(prefix) && !answered.has(id) && Number(id.split('-')[1]) % 4 === 1 && Date.now() - at < LONG_WORK_MS / 3);
    await until(() => underWay('get-', getAnswers) && underWay('post-', postAnswers), 20_000);
    const killedAt = Date.now();
    expect(await victim.kill('SIGKILL')).toBe('SIGKILL');

    // Still registered in etcd: the gateway alone has to notice and route around it.
    await until(async () => (await ejectionOf(gateway.url, victim.url))?.ejectedUntil !== undefined, 15_000);
    const ejectedAfterMs = Date.now() - killedAt;
    // Requests that had already picked the victim finish (one per client at most), then it must see no more attempts.
    await answers(4 * CLIENTS);
    const retriesAtEjection = await metric(gateway.url, 'etcd_edge_upstream_retries_total');
    const ejection = await ejectionOf(gateway.url, victim.url);
    await answers(AFTER_ANSWERS);
    const retriesAfter = await metric(gateway.url, 'etcd_edge_upstream_retries_total');
    const ejectionAfter = await ejectionOf(gateway.url, victim.url);
    const ejectionsTotal = await metric(gateway.url, 'etcd_edge_ejections_total');
    const getReport = await gets.stop();
    const postReport = await posts.stop();

    // GET: every one answered, those the victim dropped or refused were retried on another instance.
    expect(getReport.failed, JSON.stringify(getReport.failures)).toBe(0);
    // Ejected once, and nothing tried it afterwards: no more failures counted on it, no retry anywhere.
    expect(ejectionsTotal).toBe(1);
    expect(ejection).toMatchObject({ ejections: 1 });
    expect(ejectionAfter).toEqual(ejection);
    expect(retriesAfter, 'requests went on trying the ejected instance').toBe(retriesAtEjection);

    // POST: run at most once anywhere; the answered ones exactly once; the others clean 502s run nowhere else.
    const executed = new Map<string, number>();
    for (const instance of instances) for (const [id, count] of instance.seen) if (id.startsWith('post-')) executed.set(id, (executed.get(id) ?? 0) + count);
    const twice = [...executed].filter(([, count]) => count > 1);
    expect(twice, 'POSTs executed more than once').toEqual([]);
    expect(postAnswers.size).toBe(postReport.sent);
    const failed = [...postAnswers].filter(([, a]) => a.status < 200 || a.status > 299);
    for (const [id, answer] of postAnswers) {
      if (answer.status >= 200 && answer.status <= 299) {
        expect(executed.get(id), `${id} was answered 2xx`).toBe(1);
        continue;
      }
      expect(answer.status, `${id}: ${answer.body}`).toBe(502);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'UPSTREAM_UNREACHABLE', service: SERVICE } });
      expect(survivors.some((s) => s.seen.has(id)), `${id} failed but ran on a surviving instance`).toBe(false);
    }
    // Only requests under way on the victim when it died can be lost: at most one per POST client.
    expect(failed.length).toBeLessThanOrEqual(CLIENTS);
    const inFlightOnVictim = failed.filter(([id]) => victim.seen.has(id)).length;
    const getsCutOff = [...getAnswers].filter(([id, a]) => victim.seen.has(id) && backendOf(a.body) !== victim.name).length;
    expect(inFlightOnVictim, 'POSTs under way on the instance when it died').toBeGreaterThanOrEqual(1);
    expect(getsCutOff, 'GETs under way on the instance when it died').toBeGreaterThanOrEqual(1);
    // Failures the gateway counted on the victim before ejecting it: refused attempts it retried, and POSTs it answered 502.
    const failuresBeforeEjection = retriesAtEjection + failed.length;
    expect(failuresBeforeEjection).toBeGreaterThanOrEqual(EJECT_AFTER);
    expect(failuresBeforeEjection).toBeLessThanOrEqual(EJECT_AFTER + 2 * CLIENTS);

    const row = {
      id: 3,
      scenario: 'Instances dying',
      load: `${CLIENTS} GET + ${CLIENTS} POST clients (¼ of requests take ${LONG_WORK_MS} ms at the instance, ¼ of POST bodies 100 KiB, streamed), ${n(getReport.sent)} GETs + ${n(postReport.sent)} POSTs to 3 instance processes`,
      fault: 'one of 3 instance processes SIGKILLed, left registered in etcd',
      failures: `GET ${failureSummary(getReport)}; POST ${failureSummary(postReport)}`,
      lost: `${failed.length} POST${failed.length === 1 ? '' : 's'} under way at the kill, answered 502 UPSTREAM_UNREACHABLE and run nowhere else (${inFlightOnVictim} had reached the dead process${failed.length > inFlightOnVictim ? `, ${failed.length - inFlightOnVictim} were on its connections as they broke` : ''}); no POST ran twice`,
      figures: `${getsCutOff} GETs cut off on the dead instance, answered by another; ejected ${n(ejectedAfterMs)} ms after the kill (ETCD_EDGE_EJECT_AFTER=${EJECT_AFTER}; ${failuresBeforeEjection} failed attempts on it in all, ${retriesAtEjection} of them retried elsewhere); 0 attempts on it over the next ${n(AFTER_ANSWERS)} requests; GET p99 ${getReport.latencyMs.p99} ms, POST p99 ${postReport.latencyMs.p99} ms`,
    };
    record(row);
  }, TIMEOUT);
});
