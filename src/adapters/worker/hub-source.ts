import type { Snapshot, SnapshotSource, SourceHealth } from '../../discovery/index.js';
import { within } from '../../etcd/index.js';
import { HUB_NAME, type HubNamespace } from './hub-wire.js';

export interface HubSourceOptions {
  /** The `ETCD_EDGE_HUB` binding. */
  hub: HubNamespace;
  /** Where the hub is created (`ETCD_EDGE_HUB_LOCATION`); one hub per hint, named after it. */
  locationHint?: string | undefined;
  /** Read directly (etcd or the relay) when the hub fails; undefined to fail with it. */
  fallback?: SnapshotSource | undefined;
  /** Told about the hub's first failure (then silent until it answers again). */
  onHubFailure?: (error: unknown) => void;
  now?: () => number;
  /** How long a hub call may take before it counts as failed (ms). Default 10,000. */
  callTimeoutMs?: number;
}

/** A hub call's own bound (ms), before any fallback read: a hub that does not answer counts as failed. */
const HUB_CALL_BOUND_MS = 10_000;

/**
 * An isolate's snapshot source on Workers: asks the `SnapshotHub` Durable
 * Object with the revision it holds, so "unchanged" costs no decoding. The
 * resolver's cache sits on top: a hot isolate asks the hub once per TTL per
 * service, not per request.
 *
 * @example
 * const source = new HubSource({ hub: env.ETCD_EDGE_HUB, fallback: etcdSource(etcd, options) });
 */
export class HubSource implements SnapshotSource {
  readonly #hub: HubNamespace;
  readonly #name: string;
  readonly #locationHint: string | undefined;
  readonly #fallback: SnapshotSource | undefined;
  readonly #onHubFailure: (error: unknown) => void;
  readonly #now: () => number;
  readonly #callTimeoutMs: number;
  #failing = false;

  constructor(options: HubSourceOptions) {
    this.#hub = options.hub;
    this.#locationHint = options.locationHint;
    this.#name = options.locationHint ? `${HUB_NAME}-${options.locationHint}` : HUB_NAME;
    this.#fallback = options.fallback;
    this.#onHubFailure = options.onHubFailure ?? (() => undefined);
    this.#now = options.now ?? Date.now;
    this.#callTimeoutMs = options.callTimeoutMs ?? HUB_CALL_BOUND_MS;
  }

  get callBoundMs(): number {
    return this.#callTimeoutMs + (this.#fallback?.callBoundMs ?? 0);
  }

  /** `/_edge/health`'s `hub`: which hub, and whether its last call failed (and reads went direct). No error text. */
  health(): SourceHealth {
    const onFallback = this.#failing && this.#fallback !== undefined;
    return {
      section: 'hub',
      ok: !this.#failing,
      fields: { name: this.#name, ...(this.#locationHint ? { locationHint: this.#locationHint } : {}), fallback: this.#fallback !== undefined, lastCallFailed: this.#failing, onFallback },
    };
  }

  /** The service as the hub holds it; `previous` itself when the hub says it is unchanged. */
  async read(service: string, previous: Snapshot | undefined): Promise<Snapshot> {
    try {
      const snapshot = await this.#ask(service, previous);
      this.#failing = false;
      return snapshot;
    } catch (error) {
      if (!this.#failing) this.#onHubFailure(error);
      this.#failing = true;
      if (!this.#fallback) throw error;
      return this.#fallback.read(service, previous);
    }
  }

  async #ask(service: string, previous: Snapshot | undefined): Promise<Snapshot> {
    const stub = this.#hub.get(this.#hub.idFromName(this.#name), this.#locationHint ? { locationHint: this.#locationHint } : undefined);
    const answer = await within(stub.snapshot(service, previous?.revision), this.#callTimeoutMs, () => new Error(`the snapshot hub did not answer within ${this.#callTimeoutMs} ms`));
    if (answer.unchanged) {
      if (previous) return previous;
      throw new TypeError('the snapshot hub answered "unchanged" to an isolate holding nothing');
    }
    const { snapshot } = answer;
    // What crossed the RPC boundary is a copy: frozen again, as every snapshot is.
    return Object.freeze({ ...snapshot, instances: Object.freeze(snapshot.instances), skipped: Object.freeze(snapshot.skipped), fetchedAt: this.#now() });
  }
}
