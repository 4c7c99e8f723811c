import type { Instance } from '../registry/index.js';

/** How an instance is chosen among the eligible ones. */
export type StrategyName = 'weighted-random' | 'round-robin' | 'least-request' | 'hash';

export const STRATEGY_NAMES: readonly StrategyName[] = ['weighted-random', 'round-robin', 'least-request', 'hash'];

/** What one request asks of a pick. */
export interface PickRequest {
  /** Tags an instance must carry, all of them (route config merged with `x-edge-tags`). */
  tags?: Readonly<Record<string, string>>;
  /** The edge's zone: instances tagged `zone=<this>` are preferred, the others are the fallback. */
  zone?: string;
  /** For `hash`: the request's key (a header, a cookie or the client IP). Without one, `hash` picks at random by weight. */
  hashKey?: string;
  /** Instances already tried for this request. */
  exclude?: ReadonlySet<Instance>;
}

/** How an attempt on an instance ended, for outlier ejection. */
export type Outcome =
  /** The instance answered (any status but 502/503/504). */
  | 'success'
  /** Connect failure, or a 502/503/504 answer. */
  | 'failure'
  /** Says nothing about the instance (client went away, request timed out on our side). */
  | 'neutral';

/** One attempt in flight on an instance; `end` exactly once. */
export interface Attempt {
  readonly instance: Instance;
  end(outcome: Outcome): void;
}

export interface EjectionOptions {
  /** Failures in a row that eject an instance. Default 5. */
  consecutiveFailures?: number;
  /** First ejection time (ms); doubles on each repeat ejection. Default 30,000. */
  baseEjectionMs?: number;
  /** Cap on one ejection's time (ms). Default 300,000. */
  maxEjectionMs?: number;
  /** Never more than this share of a service's instances ejected at once (percent). Default 50. */
  maxEjectedPercent?: number;
}

/** An instance's ejection state, for the admin view. */
export interface EjectionState {
  readonly key: string;
  readonly url: string;
  readonly consecutiveFailures: number;
  /** How many times it has been ejected (resets after a clean spell). */
  readonly ejections: number;
  /** While ejected: until when (ms since the epoch). */
  readonly ejectedUntil?: number;
  readonly inFlight: number;
}

export interface BalancerOptions {
  strategy?: StrategyName;
  ejection?: EjectionOptions;
  /** In [0, 1); default Math.random. */
  random?: () => number;
  /** The clock (ms since the epoch); default Date.now. */
  now?: () => number;
  /** Told each time an instance is ejected (metrics, logs). */
  onEject?: (instance: Instance, until: number) => void;
}
