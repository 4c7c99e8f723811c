import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, register, type RegisteredInstance, type RegistrarEvent } from '../../src/index.js';
import { CliProcess } from '../support/cli-process.js';
import { startEtcd, type EtcdCluster, type EtcdMember } from '../support/etcd-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/until.js';
import { n, record, scale } from './support/mode.js';

/**
 * A library registration and an `etcd-edge register` process, both talking to
 * etcd through a TCP proxy, while etcd is killed, wiped, stalled and cut off.
 */
const TTL_S = scale(3, 5);
const TTL_MS = TTL_S * 1_000;
/** The registrar's defaults for these TTLs, which the CLI uses too. */
const RETRY_DELAY_MS = Math.max(1_000, TTL_MS / 5);
const KEEPALIVE_MS = TTL_MS / 3;
/** Each keepalive and re-registration call gives up after this long; the one endpoint is tried twice. */
const REQUEST_TIMEOUT_MS = Math.min(5_000, Math.max(1_000, TTL_MS / 3));
const STALL_MS = scale(TTL_MS + 3_000, 12_000);
const OUTAGE_MS = scale(TTL_MS + 4 * RETRY_DELAY_MS + 1_000, 20_000);
const MAX_ATTEMPTS = 3;
/** Room for a loaded machine on top of a bound the options set. */
const SLACK_MS = scale(2_000, 2_000);
const TIMEOUT = scale(60_000, 180_000);

const SERVICE = 'chaos4';
const LIB_KEY = `services/${SERVICE}/lib`;
const CLI_KEY = `services/${SERVICE}/cli`;

let cluster: EtcdCluster;
let member: EtcdMember;
let proxy: TcpProxy;
let direct: EtcdClient;
let presence: Presence;
let lib: RegisteredInstance;
const libEvents: Stamped<RegistrarEvent>[] = [];
let registrar: CliProcess;
const figures: Record<string, string> = {};

interface Stamped<T> {
  at: number;
  value: T;
}

/**
 * Reads the keys straight from etcd every 50 ms and remembers when each was
 * seen present or absent (reads that fail say nothing either way).
 */
class Presence {
  #samples = new Map<string, Stamped<boolean>[]>();
  #running = true;
  readonly done: Promise<void>;

  constructor(etcd: EtcdClient, keys: readonly string[]) {
    for (const key of keys) this.#samples.set(key, []);
    this.done = this.#poll(etcd, keys);
  }

  async #poll(etcd: EtcdClient, keys: readonly string[]): Promise<void> {
    while (this.#running) {
      for (const key of keys) {
        try {
          const { kvs } = await etcd.range(key);
          this.#samples.get(key)!.push({ at: Date.now(), value: kvs.length > 0 });
        } catch {
          // etcd down: unknown
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Milliseconds between the first absent sample and the next present one, summed over `[from, to]`. */
  absentMs(key: string, from: number, to: number): number {
    let total = 0;
    let since: number | undefined;
    for (const { at, value } of this.#samples.get(key)!) {
      if (at < from || at > to) continue;
      if (!value) since ??= at;
      else if (since !== undefined) {
        total += at - since;
        since = undefined;
      }
    }
    return since === undefined ? total : total + (to - since);
  }

  /** When the key was first seen present at or after `from`. */
  presentSince(key: string, from: number): number | undefined {
    return this.#samples.get(key)!.find((s) => s.at >= from && s.value)?.at;
  }

  seenAbsent(key: string, from: number, to: number): boolean {
    return this.#samples.get(key)!.some((s) => s.at >= from && s.at <= to && !s.value);
  }

  stop(): Promise<void> {
    this.#running = false;
    return this.done;
  }
}

/** The CLI's log lines after `offset`, without their timestamps. */
function cliLines(offset: number): string[] {
  return registrar.stderr
    .slice(offset)
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/^\S+Z /, ''));
}

const TRANSITIONS = {
  keepaliveFailed: /^keepalive failed: /,
  keepaliveRecovered: /^keepalive recovered$/,
  lost: /^registration lost \(/,
  retryFailed: /^registering again failed: /,
  reRegistered: /^registered again under lease /,
} as const;

function countTransitions(lines: readonly string[]): Record<keyof typeof TRANSITIONS, number> {
  const counts = Object.fromEntries(Object.keys(TRANSITIONS).map((k) => [k, 0])) as Record<keyof typeof TRANSITIONS, number>;
  for (const line of lines) {
    const kind = (Object.keys(TRANSITIONS) as (keyof typeof TRANSITIONS)[]).find((k) => TRANSITIONS[k].test(line));
    expect(kind, `unexpected log line: ${line}`).toBeDefined();
    counts[kind!] += 1;
  }
  return counts;
}

function libTypes(from: number): string[] {
  return libEvents.filter((e) => e.at >= from).map((e) => e.value.type);
}

/**
 * Each transition at most once (the library reports every failed attempt, so
 * those are not counted); a loss is followed by exactly one re-registration.
 */
function expectOnceEach(types: readonly string[], label: string): void {
  const counts = new Map<string, number>();
  for (const t of types) if (t !== 'retry-failed') counts.set(t, (counts.get(t) ?? 0) + 1);
  for (const [type, count] of counts) expect(count, `${label}: ${type} in ${types.join(', ')}`).toBe(1);
  expect(counts.get('re-registered') ?? 0, `${label}: ${types.join(', ')}`).toBe(counts.get('lost') ?? 0);
}

function seconds(ms: number): string {
  return `${n(Math.round(ms / 100) / 10)} s`;
}

beforeAll(async () => {
  cluster = await startEtcd();
  member = cluster.members[0]!;
  const port = member.spec.clientPort;
  proxy = await new TcpProxy({ host: '127.0.0.1', port }).listen();
  direct = new EtcdClient({ endpoints: cluster.endpoints, timeoutMs: 1_000 });
  const etcd = new EtcdClient({ endpoints: [proxy.url] });
  lib = await register(etcd, {
    service: SERVICE,
    id: 'lib',
    url: 'http://127.0.0.1:9401',
    ttl: TTL_S,
    onEvent: (value) => libEvents.push({ at: Date.now(), value }),
  });
  registrar = new CliProcess(['register', SERVICE, 'http://127.0.0.1:9402', '--id', 'cli', '--ttl', String(TTL_S)], {
    ETCD_ENDPOINTS: proxy.url,
  });
  await until(() => registrar.stdout.includes('registered '), 15_000);
  presence = new Presence(direct, [LIB_KEY, CLI_KEY]);
  await until(() => presence.presentSince(CLI_KEY, 0) !== undefined && presence.presentSince(LIB_KEY, 0) !== undefined);
}, TIMEOUT);

afterAll(async () => {
  await presence?.stop();
  await registrar?.kill('SIGKILL');
  await lib?.close().catch(() => undefined);
  await proxy?.close();
  await cluster?.close();
}, TIMEOUT);

describe('registrar under faults (library and etcd-edge register)', () => {
  it('a) etcd SIGKILLed and restarted with its data: the key stays', async () => {
    const from = Date.now();
    const logFrom = registrar.stderr.length;
    await member.stop('SIGKILL');
    // Down long enough for a keepalive to fail, shorter than the TTL.
    await new Promise((r) => setTimeout(r, KEEPALIVE_MS + 500));
    await member.start();
    const restarted = Date.now();
    // Had no keepalive got through since, the lease would have expired by now.
    await new Promise((r) => setTimeout(r, TTL_MS + KEEPALIVE_MS));
    const to = Date.now();
    const absent = Math.max(presence.absentMs(LIB_KEY, from, to), presence.absentMs(CLI_KEY, from, to));
    // etcd keeps its leases across a restart (and restarts their clocks), so the key never goes away.
    expect(absent).toBe(0);
    for (const key of [LIB_KEY, CLI_KEY]) expect(presence.presentSince(key, restarted + TTL_MS), key).toBeDefined();
    expectOnceEach(libTypes(from), 'library');
    const counts = countTransitions(cliLines(logFrom));
    expect(Math.max(...Object.values(counts))).toBeLessThanOrEqual(1);
    expect(counts.reRegistered).toBe(counts.lost);
    expect(counts.keepaliveRecovered + counts.reRegistered).toBe(counts.keepaliveFailed);
    figures.a = `key absent ${seconds(absent)} after SIGKILL + restart with data kept (etcd down ${seconds(restarted - from)})`;
  }, TIMEOUT);

  it('b) etcd restarted with its data wiped: both register again within retryDelay + a keepalive interval', async () => {
    const from = Date.now();
    const logFrom = registrar.stderr.length;
    await member.stop('SIGKILL');
    await rm(member.spec.dataDir, { recursive: true, force: true });
    await member.start();
    const ready = Date.now();
    await until(() => presence.presentSince(LIB_KEY, ready) !== undefined && presence.presentSince(CLI_KEY, ready) !== undefined, 30_000);
    const took = Math.max(presence.presentSince(LIB_KEY, ready)!, presence.presentSince(CLI_KEY, ready)!) - ready;
    // A failing keepalive is retried every second at most; then the loss, retryDelay, and one claim.
    const bound = RETRY_DELAY_MS + Math.min(1_000, KEEPALIVE_MS) + SLACK_MS;
    expect(took).toBeLessThanOrEqual(bound);
    await until(() => libTypes(from).includes('re-registered') && TRANSITIONS.reRegistered.test(cliLines(logFrom).at(-1) ?? ''), 5_000);
    await new Promise((r) => setTimeout(r, KEEPALIVE_MS));
    expectOnceEach(libTypes(from), 'library');
    expect(libTypes(from)).toContain('lost');
    const counts = countTransitions(cliLines(logFrom));
    expect(counts).toMatchObject({ lost: 1, reRegistered: 1 });
    expect(Math.max(...Object.values(counts))).toBe(1);
    expect((await direct.range(LIB_KEY)).kvs[0]?.lease).toBe(lib.leaseId);
    figures.b = `re-registered ${seconds(took)} after a wiped etcd came back (retryDelay ${seconds(RETRY_DELAY_MS)}, keepalive every ${seconds(KEEPALIVE_MS)})`;
  }, TIMEOUT);

  it('c) a network stall longer than the TTL: the key expires, then comes back when the stall ends', async () => {
    const from = Date.now();
    const logFrom = registrar.stderr.length;
    proxy.stall(true);
    await until(() => presence.seenAbsent(LIB_KEY, from, Date.now()) && presence.seenAbsent(CLI_KEY, from, Date.now()), TTL_MS + 10_000);
    expect((await direct.range({ prefix: `services/${SERVICE}/` })).kvs).toEqual([]);
    const remaining = STALL_MS - (Date.now() - from);
    if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
    const stalled = Date.now() - from;
    proxy.stall(false);
    const ended = Date.now();
    // A stalled keepalive fails by its deadline (twice on the one endpoint), not the client's 5 s ones.
    const noticed = libEvents.find((e) => e.at >= from && e.value.type === 'keepalive-failed')?.at;
    expect(noticed, libTypes(from).join(', ')).toBeDefined();
    expect(noticed! - from).toBeLessThanOrEqual(KEEPALIVE_MS + 2 * REQUEST_TIMEOUT_MS + SLACK_MS);
    await until(() => presence.presentSince(LIB_KEY, ended) !== undefined && presence.presentSince(CLI_KEY, ended) !== undefined, 30_000);
    const back = Math.max(presence.presentSince(LIB_KEY, ended)!, presence.presentSince(CLI_KEY, ended)!) - ended;
    const lostAt = libEvents.find((e) => e.at >= from && e.value.type === 'lost')!.at;
    // At worst an attempt sent during the stall waits out its deadline, then one retryDelay.
    expect(back).toBeLessThanOrEqual(REQUEST_TIMEOUT_MS + RETRY_DELAY_MS + SLACK_MS);
    await until(() => TRANSITIONS.reRegistered.test(cliLines(logFrom).at(-1) ?? ''), 5_000);
    await new Promise((r) => setTimeout(r, KEEPALIVE_MS));
    expectOnceEach(libTypes(from), 'library');
    const counts = countTransitions(cliLines(logFrom));
    expect(counts).toMatchObject({ lost: 1, reRegistered: 1 });
    expect(Math.max(...Object.values(counts))).toBe(1);
    figures.c = `loss noticed ${seconds(lostAt - from)} into a ${seconds(stalled)} stall (TTL ${TTL_S} s), back ${seconds(back)} after it ended`;
  }, TIMEOUT);

  it('d) etcd unreachable for good: the library gives up after maxAttempts; the CLI keeps trying and logs it once', async () => {
    const quitterProxy = await new TcpProxy({ host: '127.0.0.1', port: member.spec.clientPort }).listen();
    const events: Stamped<RegistrarEvent>[] = [];
    const quitter = await register(new EtcdClient({ endpoints: [quitterProxy.url] }), {
      service: SERVICE,
      id: 'quitter',
      url: 'http://127.0.0.1:9403',
      ttl: TTL_S,
      retry: { retryDelayMs: RETRY_DELAY_MS, maxAttempts: MAX_ATTEMPTS },
      onEvent: (value) => events.push({ at: Date.now(), value }),
    });
    try {
      const from = Date.now();
      const logFrom = registrar.stderr.length;
      for (const p of [proxy, quitterProxy]) {
        p.refuse(true);
        p.dropAll();
      }
      await expect(quitter.done).rejects.toThrow();
      const gaveUpAfter = Date.now() - from;
      expect(quitter.state).toBe('gave-up');
      expect(events.map((e) => e.value.type)).toEqual([
        'registered',
        'keepalive-failed',
        'lost',
        ...Array<string>(MAX_ATTEMPTS).fill('retry-failed'),
        'gave-up',
      ]);
      expect(events.at(-1)!.value).toMatchObject({ type: 'gave-up', attempts: MAX_ATTEMPTS });
      // Stopped: no more connection attempts.
      const accepted = quitterProxy.accepted;
      const remaining = OUTAGE_MS - (Date.now() - from);
      await new Promise((r) => setTimeout(r, Math.max(remaining, 2 * RETRY_DELAY_MS)));
      expect(quitterProxy.accepted).toBe(accepted);
      expect(events.at(-1)!.value.type).toBe('gave-up');

      // The CLI never gives up (an instance that stops trying leaves the pool
      // for good), and said so once, not once per attempt.
      expect(registrar.child.exitCode).toBeNull();
      const outage = cliLines(logFrom);
      expect(countTransitions(outage)).toMatchObject({ keepaliveFailed: 1, lost: 1, retryFailed: 1, reRegistered: 0 });
      proxy.refuse(false);
      const ended = Date.now();
      await until(() => presence.presentSince(CLI_KEY, ended) !== undefined && presence.presentSince(LIB_KEY, ended) !== undefined, 30_000);
      const back = Math.max(presence.presentSince(LIB_KEY, ended)!, presence.presentSince(CLI_KEY, ended)!) - ended;
      expect(back).toBeLessThanOrEqual(RETRY_DELAY_MS + SLACK_MS);
      await until(() => TRANSITIONS.reRegistered.test(cliLines(logFrom).at(-1) ?? ''), 5_000);
      expect(countTransitions(cliLines(logFrom))).toMatchObject({ keepaliveFailed: 1, lost: 1, retryFailed: 1, reRegistered: 1 });
      expectOnceEach(libTypes(from), 'library');
      figures.d = `gave up after ${MAX_ATTEMPTS} attempts, ${seconds(gaveUpAfter)} into the outage, then no connection attempt; CLI kept trying through ${seconds(ended - from)} and was back ${seconds(back)} after`;
    } finally {
      quitterProxy.refuse(false);
      await quitter.close().catch(() => undefined);
      await quitterProxy.close();
    }
  }, TIMEOUT);

  it('the CLI survived every fault, logged no stack trace, and deregisters on SIGTERM', async () => {
    expect(registrar.child.exitCode).toBeNull();
    expect(registrar.stderr).not.toMatch(/^\s+at /m);
    expect(registrar.stderr).not.toMatch(/Error:|undefined/);
    expect(await registrar.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(registrar.stdout).toContain(`deregistered ${CLI_KEY}\n`);
    expect((await direct.range(CLI_KEY)).kvs).toEqual([]);
    const row = {
      id: 4,
      scenario: 'Registrar under etcd faults',
      load: `1 library registration + 1 etcd-edge register process through a TCP proxy, TTL ${TTL_S} s, retryDelay ${seconds(RETRY_DELAY_MS)}`,
      fault: `etcd SIGKILL + restart with data; restart with data wiped; ${seconds(STALL_MS)} network stall; etcd refused for ${seconds(OUTAGE_MS)}`,
      failures: 'CLI: 0 exits, 0 stack traces, each transition logged once per fault',
      lost: 'nothing: every registration back after each fault',
      figures: [figures.a, figures.b, figures.c, figures.d].join('; '),
    };
    record(row);
  }, TIMEOUT);
});
