import type { EtcdClient } from '../etcd/index.js';
import { toLayout, type KeyLayout, type LayoutChoice, type SkippedRecord } from '../registry/index.js';
import { DEFAULT_REFRESH_TIMEOUT_MS } from './bound.js';
import type { SnapshotSource } from './source.js';

export interface ResolverOptions {
  /** etcd, read with ranges (or kept current by watches in watch mode). One of `etcd` and `source` is required. */
  etcd?: EtcdClient;
  /**
   * Another source of snapshots, such as a snapshot relay (`RelaySource`),
   * read and cached with the same semantics; it takes the place of `etcd`
   * outside watch mode.
   */
  source?: SnapshotSource;
  /** Where services live (layouts or their names); several are merged into one snapshot per service. Default: native. */
  layouts?: readonly LayoutChoice[];
  /** A snapshot is served without asking etcd for this long (ms). Default 2,000. */
  cacheTtlMs?: number;
  /** Then served at once while one background refresh runs, for this long (ms). Default 30,000. */
  staleWhileRevalidateMs?: number;
  /** While etcd is unreachable, the last snapshot is served for this long after it was read (ms). Default 600,000. */
  staleIfErrorMs?: number;
  /** A service with no instances is remembered for this long (ms). Default 1,000. */
  negativeTtlMs?: number;
  /** After a failed refresh, no other is tried for this long (ms). Default 1,000. */
  errorBackoffMs?: number;
  /**
   * A read of a service (shared by every lookup that needs it) that has not
   * settled after this long (ms) is given up: the lookups waiting on it get
   * the stale snapshot (within `staleIfErrorMs`) or a retryable `ETCD_TIMEOUT`,
   * and the next lookup starts another read. It bounds reads a runtime lost,
   * such as a Worker's unfinished work cancelled with its response. Default:
   * the source's `callBoundMs` (every etcd endpoint or relay URL tried at its
   * timeout), so a read failing over to another one is never cut short.
   */
  refreshTimeoutMs?: number;
  /** Services kept in memory, least recently used dropped first. Default 10,000. */
  maxServices?: number;
  /** Keys per range request when reading a service. Default 1,000. */
  pageSize?: number;
  /** Keep snapshots current with etcd watches instead of re-reading them (long-lived runtimes). Default false. */
  watch?: boolean;
  /** In watch mode, a service not resolved for this long (ms) stops being watched. Default 300,000. */
  watchIdleMs?: number;
  /**
   * In watch mode, a stream that delivered nothing for this long (ms) is
   * reopened from where it was, so a stalled connection is noticed (and its
   * snapshots served as stale-if-error) instead of trusted for ever. Default 60,000.
   */
  watchSilenceMs?: number;
  /** Told once about each record that does not decode. */
  onSkipped?: (record: SkippedRecord) => void;
  /**
   * Watch mode: told that a watched service's records changed (a watch batch,
   * a relay's long-poll answer), so whoever copies snapshots elsewhere (the
   * primary of `serve --workers N`) looks again now, not on a timer.
   */
  onChange?: (service: string) => void;
  /** The clock, in ms since the epoch. */
  now?: () => number;
}

export type ResolvedOptions = Required<Omit<ResolverOptions, 'onSkipped' | 'onChange' | 'layouts' | 'etcd' | 'source'>> & {
  etcd: EtcdClient | undefined;
  source: SnapshotSource | undefined;
  layouts: readonly KeyLayout[];
  onSkipped: ResolverOptions['onSkipped'] | undefined;
  onChange: ResolverOptions['onChange'] | undefined;
};

const DEFAULTS = {
  cacheTtlMs: 2_000,
  staleWhileRevalidateMs: 30_000,
  staleIfErrorMs: 600_000,
  negativeTtlMs: 1_000,
  errorBackoffMs: 1_000,
  maxServices: 10_000,
  pageSize: 1_000,
  watchIdleMs: 300_000,
  watchSilenceMs: 60_000,
} as const;

/** Fills in defaults. @throws {RangeError} naming an option that is not a non-negative number */
export function resolveOptions(options: ResolverOptions): ResolvedOptions {
  const from = options.source ?? options.etcd;
  if (!from) throw new TypeError('the resolver needs etcd or another snapshot source');
  const bound = from.callBoundMs;
  const defaults = { ...DEFAULTS, refreshTimeoutMs: bound ?? DEFAULT_REFRESH_TIMEOUT_MS };
  const numbers: Record<keyof typeof defaults, number> = { ...defaults };
  for (const name of Object.keys(defaults) as (keyof typeof defaults)[]) {
    const value = options[name] ?? defaults[name];
    if (typeof value !== 'number' || !(value >= 0)) throw new RangeError(`resolver option ${name} must be a non-negative number, got ${value}`);
    numbers[name] = value;
  }
  if (numbers.pageSize < 1 || numbers.maxServices < 1 || numbers.refreshTimeoutMs < 1) {
    throw new RangeError('resolver options pageSize, maxServices and refreshTimeoutMs must be at least 1');
  }
  return {
    ...numbers,
    etcd: options.etcd,
    source: options.source,
    layouts: (options.layouts ?? ['native']).map(toLayout),
    watch: options.watch ?? false,
    now: options.now ?? Date.now,
    onSkipped: options.onSkipped,
    onChange: options.onChange,
  };
}
