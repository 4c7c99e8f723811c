import { until } from '../../support/until.js';
import { EtcdClient, EtcdError, nativeLayout } from '../../../src/index.js';
import { ADMIN_TOKEN } from '../../support/gateway-scenarios.js';
import { startServeProcess } from '../../support/node-gateway.js';
import { LoadLoop } from './load.js';

/**
 * Which backend answered each request of a load loop, by time, so a test can
 * tell when the gateway started (or stopped) sending to one. Reads the
 * `backend` field of the echo backends' JSON answers.
 */
export class RouteLog {
  readonly #times = new Map<string, number[]>();
  #answers: number[] = [];

  constructor(loop: LoadLoop) {
    loop.onAnswer = ({ status, body }) => {
      const now = Date.now();
      this.#answers.push(now);
      if (status !== 200) return;
      const name = backendOf(body);
      if (name === undefined) return;
      const times = this.#times.get(name);
      if (times) times.push(now);
      else this.#times.set(name, [now]);
    };
  }

  /** When `backend` first answered at or after `since` (ms since the epoch), if it has. */
  firstSince(backend: string, since: number): number | undefined {
    return this.#times.get(backend)?.find((t) => t >= since);
  }

  /** When `backend` last answered, if ever. */
  last(backend: string): number | undefined {
    return this.#times.get(backend)?.at(-1);
  }

  /** Answers (from any backend) at or after `since`. */
  answersSince(since: number): number {
    let count = 0;
    for (let i = this.#answers.length - 1; i >= 0 && this.#answers[i]! >= since; i--) count++;
    return count;
  }

  /**
   * True once `backend` has not answered for `quietMs` and at least `answers`
   * others came back meanwhile: it is no longer routed to.
   */
  gone(backend: string, quietMs: number, answers: number): boolean {
    const last = this.last(backend) ?? 0;
    return Date.now() - last >= quietMs && this.answersSince(last + 1) >= answers;
  }
}

function backendOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { backend?: string }).backend;
  } catch {
    return undefined;
  }
}

/**
 * Registers and removes native-layout instances, repeating a call etcd could
 * not answer (no leader yet, a member just killed) until `ms` runs out. Putting
 * or deleting the same key again is harmless, so an unknown outcome is simply retried.
 */
export class Registry {
  readonly #etcd: EtcdClient;
  readonly #layout = nativeLayout();

  constructor(endpoints: readonly string[]) {
    this.#etcd = new EtcdClient({ endpoints, timeoutMs: 1_000, writeTimeoutMs: 2_000, endpointCooldownMs: 200 });
  }

  /** Puts the instance; resolves with the revision etcd wrote it at. */
  add(service: string, url: string, ms = 15_000): Promise<number> {
    const record = this.#layout.encode({ service, url, weight: 1, tags: {} });
    return this.#retry(async () => (await this.#etcd.put(record.key, record.value)).header.revision, ms);
  }

  remove(service: string, url: string, ms = 15_000): Promise<number> {
    const { key } = this.#layout.encode({ service, url, weight: 1, tags: {} });
    return this.#retry(async () => (await this.#etcd.delete(key)).header.revision, ms);
  }

  async #retry(call: () => Promise<number>, ms: number): Promise<number> {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof EtcdError) || !error.retryable || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/** One gateway under steady load, and which backend answered when. */
export interface Lane {
  mode: 'watch' | 'cache';
  url: string;
  loop: LoadLoop;
  routes: RouteLog;
  close: () => Promise<void>;
}

/** A watch-mode and a cache-mode `etcd-edge serve` on these endpoints, each with two clients asking for `service` without pause. */
export async function startLanes(endpoints: readonly string[], service: string, cacheTtlMs: number): Promise<Lane[]> {
  const lanes: Lane[] = [];
  for (const mode of ['watch', 'cache'] as const) {
    const gateway = await startServeProcess({
      ETCD_ENDPOINTS: endpoints.join(','),
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
      ADMIN_TOKEN,
      ...(mode === 'cache' ? { ETCD_EDGE_WATCH: '0', ETCD_EDGE_CACHE_TTL_MS: String(cacheTtlMs) } : {}),
    });
    const loop = LoadLoop.start({ base: gateway.url, path: (i) => `/svc/${service}/echo/${i}`, concurrency: 2, timeoutMs: 10_000 });
    lanes.push({ mode, url: gateway.url, loop, routes: new RouteLog(loop), close: () => gateway.close() });
  }
  return lanes;
}

/** Stops the loads, then the gateways; never throws, for an afterAll. */
export async function closeLanes(lanes: readonly Lane[]): Promise<void> {
  for (const lane of lanes) {
    await lane.loop.stop().catch(() => undefined);
    await lane.close().catch(() => undefined);
  }
}

/** Waits until every lane has routed a request to `backend` at or after `since`; how long after `since` each first did. */
export async function routedTo(lanes: readonly Lane[], backend: { name: string }, since: number): Promise<number[]> {
  await until(() => lanes.every((l) => l.routes.firstSince(backend.name, since) !== undefined), 15_000);
  return lanes.map((l) => l.routes.firstSince(backend.name, since)! - since);
}

/** Waits until no lane routes to `backend` (quiet for 1 s and 50 answers); how long after `since` each last did (0 if before). */
export async function removedFrom(lanes: readonly Lane[], backend: { name: string }, since: number): Promise<number[]> {
  await until(() => lanes.every((l) => l.routes.gone(backend.name, 1_000, 50)), 15_000);
  return lanes.map((l) => Math.max(0, (l.routes.last(backend.name) ?? 0) - since));
}

/** "0.4 s (watch), 1.0 s (cache)". */
export function timesPerMode(lanes: readonly Lane[], times: readonly number[]): string {
  return lanes.map((l, i) => `${(times[i]! / 1_000).toFixed(1)} s (${l.mode})`).join(', ');
}
