import { DurableObject, type DurableObjectState } from 'cloudflare:workers';
import { RelaySource, Resolver, type Snapshot } from '../../discovery/index.js';
import { EtcdClient, type FetchLike } from '../../etcd/index.js';
import { loadConfig, type Env } from '../../gateway/index.js';
import { layoutByName } from '../../registry/index.js';
import type { HubAnswer, HubStub } from './hub-wire.js';
import { mtlsFetch } from './mtls.js';

/** Storage keys of persisted snapshots: this prefix and the service name. */
const STORED = 'snapshot:';
/** A service no isolate asked for in this long is dropped from memory and storage (ms). */
const IDLE_MS = 15 * 60_000;

/** What the hub has done since it started, for tests and the admin view. */
export interface HubStats {
  asked: number;
  etcdCalls: number;
  fromStorage: number;
  services: number;
}

/**
 * The Workers snapshot hub: one Durable Object that reads each service for
 * every isolate of the Worker, so etcd (or the relay) sees one reader per
 * service, not one per isolate. It reads in cache mode with the resolver's
 * TTL (`ETCD_EDGE_CACHE_TTL_MS`), single flight, stale-while-revalidate and
 * stale-if-error included; the last good snapshot of each service is kept in
 * storage, so a restarted hub answers at once and refreshes behind.
 *
 * @example
 * // wrangler.toml: [[durable_objects.bindings]] name = "ETCD_EDGE_HUB", class_name = "SnapshotHub"
 * export { SnapshotHub } from 'etcd-edge/worker';
 */
export class SnapshotHub extends DurableObject<Env> implements HubStub {
  readonly #resolver: Resolver;
  /** The snapshot isolates are given per service; replaced only when its lists change. */
  readonly #published = new Map<string, Snapshot>();
  readonly #askedAt = new Map<string, number>();
  readonly #stats: HubStats = { asked: 0, etcdCalls: 0, fromStorage: 0, services: 0 };
  #alarmSet = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#resolver = this.#build(env);
    void ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.list<Snapshot>({ prefix: STORED });
      const now = Date.now();
      for (const snapshot of stored.values()) {
        this.#published.set(snapshot.service, Object.freeze(snapshot));
        this.#askedAt.set(snapshot.service, now);
      }
      this.#alarmSet = (await ctx.storage.getAlarm()) !== null;
    });
  }

  /** A service's snapshot for an isolate holding `heldRevision` (or none). */
  async snapshot(service: string, heldRevision: number | undefined): Promise<HubAnswer> {
    this.#stats.asked++;
    this.#askedAt.set(service, Date.now());
    await this.#keepAlarm();
    const stored = this.#published.get(service);
    let snapshot: Snapshot;
    if (stored && this.#resolver.peek(service) === undefined) {
      // Restarted: what storage holds is answered now; the first read runs behind it.
      this.#stats.fromStorage++;
      this.ctx.waitUntil(this.#read(service).catch(() => undefined));
      snapshot = stored;
    } else {
      try {
        snapshot = await this.#read(service);
      } catch (error) {
        if (!stored) throw error;
        snapshot = stored;
      }
    }
    return snapshot.revision === heldRevision ? { unchanged: true } : { unchanged: false, snapshot };
  }

  /** What the hub has done since it started. */
  stats(): HubStats {
    return { ...this.#stats, services: this.#published.size };
  }

  /** Drops services no isolate asked for in `IDLE_MS`, from memory and storage. */
  override async alarm(): Promise<void> {
    this.#alarmSet = false;
    const cutoff = Date.now() - IDLE_MS;
    const idle = [...this.#askedAt].filter(([, at]) => at < cutoff).map(([service]) => service);
    for (const service of idle) {
      this.#askedAt.delete(service);
      this.#published.delete(service);
    }
    if (idle.length > 0) await this.ctx.storage.delete(idle.map((service) => STORED + service));
    await this.#keepAlarm();
  }

  async #keepAlarm(): Promise<void> {
    if (this.#alarmSet || this.#askedAt.size === 0) return;
    this.#alarmSet = true;
    await this.ctx.storage.setAlarm(Date.now() + IDLE_MS);
  }

  /** Reads through the resolver; a snapshot with new lists is published and stored. */
  async #read(service: string): Promise<Snapshot> {
    const read = await this.#resolver.resolve(service, { waitUntil: (promise) => this.ctx.waitUntil(promise) });
    const held = this.#published.get(service);
    if (held && held.instances === read.instances && held.skipped === read.skipped) return held;
    if (held && sameLists(held, read)) {
      // Storage held these lists (a restart): keep their revision, so isolates holding it hear "unchanged".
      const kept = Object.freeze({ ...read, revision: held.revision });
      this.#published.set(service, kept);
      return kept;
    }
    this.#published.set(service, read);
    await this.ctx.storage.put(STORED + service, read);
    return read;
  }

  #build(env: Env): Resolver {
    // ETCD_EDGE_USE_HUB says whether isolates ask the hub; the hub itself reads whatever it says.
    const config = loadConfig({ ...env, ETCD_EDGE_USE_HUB: undefined }, { watch: false, watchable: true, ipLiterals: 'loopback-only' });
    // The hub reads etcd (or the relay) as the isolates would: through ETCD_EDGE_ETCD_MTLS's binding when one is named.
    const reach: FetchLike = mtlsFetch(env, 'ETCD_EDGE_ETCD_MTLS') ?? ((input, init) => fetch(input, init));
    const counted: FetchLike = (input, init) => {
      this.#stats.etcdCalls++;
      return reach(input, init);
    };
    const layouts = config.layouts.map((name) => layoutByName(name, { nativePrefix: config.prefix }));
    const from = config.relay ? { source: new RelaySource({ ...config.relay, fetch: counted }) } : { etcd: new EtcdClient({ ...config.etcd, fetch: counted }) };
    const hubTtl = Number(env.ETCD_EDGE_HUB_CACHE_TTL_MS ?? config.cacheTtlMs);
    // ETCD_EDGE_WATCH=on: an etcd watch, or over a relay one long-poll per service; otherwise cache mode with the hub's TTL.
    return new Resolver({ ...from, layouts, cacheTtlMs: hubTtl, watch: config.watch });
  }
}

/** Lists equal by content (a snapshot from storage against a fresh read after a restart). */
function sameLists(a: Snapshot, b: Snapshot): boolean {
  return JSON.stringify([a.instances, a.skipped]) === JSON.stringify([b.instances, b.skipped]);
}
