import type { Instance } from '../registry/index.js';
import { effectiveEjections, type Health, ServiceHealth } from './health.js';
import type { Pool } from './pool.js';
import type { Attempt, EjectionOptions, EjectionState, Outcome } from './types.js';

/** Services whose state is kept; the one whose list changed longest ago goes first. */
export const MAX_SERVICES = 1024;

interface Settings {
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectedPercent: number;
}

function settings(options: EjectionOptions): Settings {
  const baseEjectionMs = Math.max(0, options.baseEjectionMs ?? 30_000);
  return {
    consecutiveFailures: Math.max(1, Math.floor(options.consecutiveFailures ?? 5)),
    baseEjectionMs,
    maxEjectionMs: Math.max(baseEjectionMs, options.maxEjectionMs ?? 300_000),
    maxEjectedPercent: Math.min(100, Math.max(0, options.maxEjectedPercent ?? 50)),
  };
}

/** Passive outlier detection and in-flight counts, per service, for one Balancer. */
export class Outliers {
  readonly #services = new Map<string, ServiceHealth>();
  readonly #settings: Settings;
  readonly #now: () => number;
  readonly #onEject: ((instance: Instance, until: number) => void) | undefined;

  constructor(options: EjectionOptions, now: () => number, onEject?: (instance: Instance, until: number) => void) {
    this.#settings = settings(options);
    this.#now = now;
    this.#onEject = onEject;
  }

  /** The service's state, told of its current list; a new list prunes instances that left. */
  observe(pool: Pool, service: string): ServiceHealth {
    const health = this.#service(service);
    if (health.pool !== pool) {
      health.adopt(pool);
      // Reinsert so services that stopped changing, or vanished, are evicted first.
      this.#services.delete(service);
      this.#services.set(service, health);
    }
    return health;
  }

  inFlight(service: ServiceHealth, instance: Instance): number {
    return service.find(instance)?.inFlight ?? 0;
  }

  begin(instance: Instance): Attempt {
    const service = this.#service(instance.service);
    const health = service.recordFor(instance);
    health.inFlight++;
    return new CountedAttempt(this, service, instance, health);
  }

  /** An attempt begun by `begin` ended; its outcome counts if its record is still the one kept. */
  ended(service: ServiceHealth, instance: Instance, health: Health, outcome: Outcome): void {
    health.inFlight = Math.max(0, health.inFlight - 1);
    if (this.#services.get(instance.service) !== service || service.records.get(instance.key) !== health) return;
    this.#learn(service, instance, health, outcome);
  }

  /** Instances of the list whose state is not the default, in list order. */
  state(instances: readonly Instance[]): EjectionState[] {
    const now = this.#now();
    const states: EjectionState[] = [];
    for (const instance of instances) {
      const health = this.#services.get(instance.service)?.find(instance);
      if (health === undefined) continue;
      const ejections = effectiveEjections(health, now, this.#settings.baseEjectionMs);
      if (health.consecutiveFailures === 0 && ejections === 0 && health.inFlight === 0) continue;
      states.push({
        key: instance.key,
        url: instance.url,
        consecutiveFailures: health.consecutiveFailures,
        ejections,
        ...(health.ejectedUntil > now ? { ejectedUntil: health.ejectedUntil } : {}),
        inFlight: health.inFlight,
      });
    }
    return states;
  }

  #service(name: string): ServiceHealth {
    let service = this.#services.get(name);
    if (service === undefined) {
      service = new ServiceHealth();
      this.#services.set(name, service);
      if (this.#services.size > MAX_SERVICES) {
        const oldest = this.#services.keys().next();
        if (!oldest.done) this.#services.delete(oldest.value);
      }
    }
    return service;
  }

  #learn(service: ServiceHealth, instance: Instance, health: Health, outcome: Outcome): void {
    // A success of an instance with a clean record (most answers) changes nothing but the in-flight count.
    if (outcome === 'success' && health.consecutiveFailures === 0 && health.ejections === 0) {
      if (health.inFlight === 0) service.records.delete(instance.key);
      return;
    }
    const now = this.#now();
    health.ejections = effectiveEjections(health, now, this.#settings.baseEjectionMs);
    if (outcome === 'failure') {
      health.lastFailure = now;
      health.consecutiveFailures++;
      if (health.consecutiveFailures >= this.#settings.consecutiveFailures) this.#eject(service, instance, health, now);
    } else if (outcome === 'success') {
      health.consecutiveFailures = 0;
    }
    if (health.inFlight === 0 && health.consecutiveFailures === 0 && health.ejections === 0) {
      service.records.delete(instance.key);
    }
  }

  /** Ejects unless already ejected or the service is at its cap; a capped instance stays a candidate for the next failure. */
  #eject(service: ServiceHealth, instance: Instance, health: Health, now: number): void {
    if (health.ejectedUntil > now) return;
    if (service.ejectedCount(now) >= service.ejectionCap(this.#settings.maxEjectedPercent)) return;
    const { baseEjectionMs, maxEjectionMs } = this.#settings;
    health.ejections++;
    health.consecutiveFailures = 0;
    health.ejectedUntil = now + Math.min(maxEjectionMs, baseEjectionMs * 2 ** (health.ejections - 1));
    service.ejectedUntilMax = Math.max(service.ejectedUntilMax, health.ejectedUntil);
    this.#onEject?.(instance, health.ejectedUntil);
  }
}

/** One attempt counted in flight on its instance's record until it ends; a class, so no closure is made per request. */
class CountedAttempt implements Attempt {
  readonly instance: Instance;
  readonly #outliers: Outliers;
  readonly #service: ServiceHealth;
  readonly #health: Health;
  #ended = false;

  constructor(outliers: Outliers, service: ServiceHealth, instance: Instance, health: Health) {
    this.#outliers = outliers;
    this.#service = service;
    this.instance = instance;
    this.#health = health;
  }

  end(outcome: Outcome): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#outliers.ended(this.#service, this.instance, this.#health, outcome);
  }
}
