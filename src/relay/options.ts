import type { Context } from 'hono';
import type { Resolver } from '../discovery/index.js';
import type { EtcdClient } from '../etcd/index.js';

/** Limits against abusive clients: the relay faces the internet where etcd no longer does. */
export interface RelayLimits {
  /** Requests per second per client address, sustained. Default 50. */
  ratePerSecond: number;
  /** Requests a client may make at once. Default 200. */
  burst: number;
  /** Client addresses the rate limiter remembers. Default 100,000. */
  maxClients: number;
  /** Long-polls one client may hold at once. Default 1,000. */
  maxWaitsPerClient: number;
  /** Long-polls held at once, all clients together. Default 20,000. */
  maxWaits: number;
}

export interface RelayOptions {
  /** A resolver in watch mode: it watches services on first request and drops them after its `watchIdleMs`. */
  resolver: Resolver;
  /** The etcd the resolver reads, probed by `/health`. */
  etcd: EtcdClient;
  /** Where the health probe reads (one key at most): the registry's prefix. */
  probeKey: string;
  /** Bearer tokens accepted (any of them: rotation is adding the new one, then removing the old). */
  tokens: readonly string[];
  limits?: Partial<RelayLimits>;
  /** The client's address, which keys the limits; requests without one share a single bucket. */
  clientAddress?: (c: Context) => string | undefined;
  /** How often held long-polls look for a change (ms). Default 100. */
  pollMs?: number;
  /**
   * A snapshot no watch keeps current (a name nobody registered is read
   * again each second instead of watched) older than this is served as stale (ms).
   * Default 3,000.
   */
  staleAfterMs?: number;
  /** More Prometheus text for `/metrics`: the runtime's process figures. */
  runtimeMetrics?: () => string;
  now?: () => number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  ratePerSecond: 50,
  burst: 200,
  maxClients: 100_000,
  maxWaitsPerClient: 1_000,
  maxWaits: 20_000,
};

/** Longest long-poll (ms); longer waits asked for are cut to this. */
export const MAX_WAIT_MS = 60_000;
