import { Exposition } from '../gateway/index.js';
import type { EtcdHealth } from './health.js';

/** What a relay route is counted as: a service read (200, 304, long-poll or not), health, metrics, anything else. */
export type RelayRoute = 'service' | 'health' | 'metrics' | 'other';

/** Why a request was refused with 429: the client's request rate, or the long-poll caps. */
export type RateLimitReason = 'rate' | 'long_polls';

/** The relay's state at a scrape, read from what it holds. */
export interface RelayState {
  /** Long-polls held now. */
  waiting: number;
  services: number;
  watches: number;
  etcd: EtcdHealth;
  /** Services served stale now (no working watch, or etcd unread past `staleAfterMs`). */
  staleServices: number;
  /** Age of the oldest of them (s); 0 when none. */
  oldestStaleSeconds: number;
}

/**
 * Counters for the relay's `/metrics`, in Prometheus text: requests by route
 * and status (a service read's 200 and 304 apart), 429s by reason, and at
 * each scrape the long-polls held, services and watches, etcd's health and
 * how stale what is served has become.
 */
export class RelayMetrics {
  readonly #requests = new Map<string, number>();
  readonly #limited: Record<RateLimitReason, number> = { rate: 0, long_polls: 0 };

  request(route: RelayRoute, status: number): void {
    // route × status stays small: four routes, the handful of statuses the relay answers.
    const key = `${route} ${status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  rateLimited(reason: RateLimitReason): void {
    this.#limited[reason]++;
  }

  render(state: RelayState): string {
    const out = new Exposition();
    out.family('etcd_edge_relay_requests_total', 'counter', 'Requests by route (service, health, metrics, other) and status: a service read answers 200 or 304.');
    for (const [key, count] of this.#requests) {
      const [route, status] = key.split(' ') as [string, string];
      out.sample('etcd_edge_relay_requests_total', count, { route, status });
    }
    out.family('etcd_edge_relay_rate_limited_total', 'counter', 'Requests answered 429, by reason: the client rate, or the long-poll caps (per client, in all).');
    for (const reason of ['rate', 'long_polls'] as const) out.sample('etcd_edge_relay_rate_limited_total', this.#limited[reason], { reason });
    out.family('etcd_edge_relay_long_polls', 'gauge', 'Long-polls (?wait=) held now.').sample('etcd_edge_relay_long_polls', state.waiting);
    out.family('etcd_edge_relay_services', 'gauge', 'Services held.').sample('etcd_edge_relay_services', state.services);
    out.family('etcd_edge_relay_watches', 'gauge', 'Open etcd watch streams.').sample('etcd_edge_relay_watches', state.watches);
    out.family('etcd_edge_relay_etcd_up', 'gauge', 'Whether etcd answered the health probe (reused for 1 s).').sample('etcd_edge_relay_etcd_up', state.etcd.reachable ? 1 : 0);
    if (state.etcd.latencyMs !== undefined) {
      out.family('etcd_edge_relay_etcd_probe_seconds', 'gauge', 'How long the last health probe of etcd took.').sample('etcd_edge_relay_etcd_probe_seconds', state.etcd.latencyMs / 1000);
    }
    out.family('etcd_edge_relay_stale_services', 'gauge', 'Services served stale now (their watch is down, or etcd could not be read).').sample('etcd_edge_relay_stale_services', state.staleServices);
    out.family('etcd_edge_relay_stale_seconds', 'gauge', 'Age of the oldest snapshot served stale; 0 when none is.').sample('etcd_edge_relay_stale_seconds', state.oldestStaleSeconds);
    return out.text();
  }
}
