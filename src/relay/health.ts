import { EtcdError, type EtcdClient } from '../etcd/index.js';

export interface EtcdHealth {
  reachable: boolean;
  /** How long the probe took (ms), when etcd answered. */
  latencyMs?: number;
  /** A stable code (`ETCD_UNAVAILABLE`, `ETCD_TIMEOUT`, …) when it did not; never an endpoint or message. */
  error?: string;
}

const PROBE_TIMEOUT_MS = 2_000;
/** A probe's answer is reused this long (ms): a flood of health checks is one etcd read a second. */
const PROBE_REUSE_MS = 1_000;

/** Reads one key (at most) under `key` to tell whether etcd answers; one probe in flight, its answer reused briefly. */
export class EtcdProbe {
  readonly #etcd: EtcdClient;
  readonly #key: string;
  readonly #now: () => number;
  #last: { at: number; health: EtcdHealth } | undefined;
  #inFlight: Promise<EtcdHealth> | undefined;

  constructor(etcd: EtcdClient, key: string, now: () => number) {
    this.#etcd = etcd;
    this.#key = key;
    this.#now = now;
  }

  check(): Promise<EtcdHealth> {
    if (this.#last && this.#now() - this.#last.at < PROBE_REUSE_MS) return Promise.resolve(this.#last.health);
    this.#inFlight ??= this.#probe().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  async #probe(): Promise<EtcdHealth> {
    const started = this.#now();
    const deadline = AbortSignal.timeout(PROBE_TIMEOUT_MS);
    let health: EtcdHealth;
    try {
      await this.#etcd.range({ prefix: this.#key }, { limit: 1, keysOnly: true, signal: deadline });
      health = { reachable: true, latencyMs: this.#now() - started };
    } catch (error) {
      health = { reachable: false, error: error instanceof EtcdError ? error.code : deadline.aborted ? 'ETCD_TIMEOUT' : 'ETCD_UNAVAILABLE' };
    }
    this.#last = { at: this.#now(), health };
    return health;
  }
}
