import type { Instance } from '../registry/index.js';
import type { Pool } from './pool.js';

/** What one Balancer knows of one instance. Kept only while it differs from the default. */
export interface Health {
  /** The URL this state belongs to: a key that now points elsewhere is a new instance. */
  readonly url: string;
  consecutiveFailures: number;
  /** Ejections so far; see `effectiveEjections` for the reset after a clean spell. */
  ejections: number;
  /** 0 when never ejected. */
  ejectedUntil: number;
  lastFailure: number;
  inFlight: number;
}

/** The Health of one service's instances, and the last list seen for it. */
export class ServiceHealth {
  /** Undefined until a list for the service has been picked from. */
  pool: Pool | undefined;
  readonly records = new Map<string, Health>();
  /** The latest `ejectedUntil` of any instance: picks skip ejection checks once it is past. */
  ejectedUntilMax = 0;

  /** The record for a key and URL, if one is kept. */
  find(instance: Instance): Health | undefined {
    const health = this.records.get(instance.key);
    return health !== undefined && health.url === instance.url ? health : undefined;
  }

  isEjected(instance: Instance, now: number): boolean {
    return (this.find(instance)?.ejectedUntil ?? 0) > now;
  }

  /**
   * The record to count an attempt on. Instances outside the last list seen get one
   * that is not kept, so attempts on stale instances cannot grow the map.
   */
  recordFor(instance: Instance): Health {
    const found = this.find(instance);
    if (found !== undefined) return found;
    const health: Health = { url: instance.url, consecutiveFailures: 0, ejections: 0, ejectedUntil: 0, lastFailure: -Infinity, inFlight: 0 };
    if (this.pool === undefined || this.pool.byKey.get(instance.key)?.url === instance.url) {
      this.records.set(instance.key, health);
    }
    return health;
  }

  /** A new list for the service: drop the state of keys that left it or changed URL. */
  adopt(pool: Pool): void {
    this.pool = pool;
    for (const [key, health] of this.records) {
      if (pool.byKey.get(key)?.url !== health.url) this.records.delete(key);
    }
  }

  ejectedCount(now: number): number {
    if (this.ejectedUntilMax <= now) return 0;
    let count = 0;
    for (const health of this.records.values()) if (health.ejectedUntil > now) count++;
    return count;
  }

  /** The most instances that may be ejected at once: a share of the routable ones, rounded down. */
  ejectionCap(percent: number): number {
    const size = this.pool?.routable ?? this.records.size;
    return Math.floor((size * percent) / 100);
  }
}

/**
 * Ejections count from 0 again once an instance has gone `baseMs` without failing
 * after its last ejection ended.
 */
export function effectiveEjections(health: Health, now: number, baseMs: number): number {
  if (health.ejections === 0 || health.ejectedUntil > now) return health.ejections;
  const quietSince = Math.max(health.ejectedUntil, health.lastFailure);
  return now - quietSince >= baseMs ? 0 : health.ejections;
}
