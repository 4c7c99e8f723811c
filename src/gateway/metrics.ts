import type { ResolverStats } from '../discovery/index.js';
import { Exposition } from './exposition.js';
import { RecentTraffic } from './traffic.js';

/** Upper bounds of the upstream latency histogram, in seconds. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Distinct service labels kept; more are counted under `_other` so hostile names cannot grow memory. */
const MAX_SERVICES = 1_000;

/**
 * How a WebSocket handshake ended: `upgraded` (the instance's 101 relayed),
 * `declined` (the instance answered otherwise, passed on), `failed` (no
 * instance could take it: none eligible, unreachable, timed out), `limited`
 * (over `ETCD_EDGE_WS_MAX_CONNECTIONS`, refused before any lookup).
 */
export type UpgradeResult = 'upgraded' | 'declined' | 'failed' | 'limited';

/** Counters for `/_edge/metrics`, in Prometheus text format. Plain data: cheap to keep on every runtime. */
export class GatewayMetrics {
  readonly #requests = new Map<string, Map<number, number>>();
  /** Observations per bucket, not cumulative (one increment per observation); `render` sums them up. */
  readonly #buckets = new Array<number>(BUCKETS.length).fill(0);
  #latencyCount = 0;
  #latencySum = 0;
  #retries = 0;
  #ejections = 0;
  readonly #etcdCalls = { ok: 0, error: 0 };
  readonly #upgrades: Record<UpgradeResult, number> = { upgraded: 0, declined: 0, failed: 0, limited: 0 };
  #websockets = 0;
  /** The last minutes per service, for the dashboard. */
  readonly traffic = new RecentTraffic();

  /**
   * A finished request; `service` is undefined when it named no routable
   * service, `latencyMs` when no instance answered.
   */
  request(service: string | undefined, status: number, latencyMs?: number): void {
    if (service !== undefined) this.traffic.record(service, status, latencyMs, Date.now());
    let label = service ?? '_unrouted';
    if (!this.#requests.has(label) && this.#requests.size >= MAX_SERVICES) label = '_other';
    let byStatus = this.#requests.get(label);
    if (!byStatus) this.#requests.set(label, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  /** Time from the first attempt to the response headers that were used. */
  upstreamLatency(seconds: number): void {
    this.#latencyCount++;
    this.#latencySum += seconds;
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= BUCKETS[i]!) {
        this.#buckets[i]!++;
        return;
      }
    }
  }

  retry(): void {
    this.#retries++;
  }

  ejection(): void {
    this.#ejections++;
  }

  etcdCall(ok: boolean): void {
    this.#etcdCalls[ok ? 'ok' : 'error']++;
  }

  /** A WebSocket handshake ended (see `UpgradeResult`). */
  upgrade(result: UpgradeResult): void {
    this.#upgrades[result]++;
  }

  /** An upgraded connection opened (+1) or closed (-1), as the runtime relaying it counts. */
  websocketsOpen(delta: 1 | -1): void {
    this.#websockets += delta;
  }

  /** The exposition text, with the resolver's counters and open watches. */
  render(resolver: Readonly<ResolverStats>, watches: number): string {
    const out = new Exposition();
    out.family('etcd_edge_requests_total', 'counter', 'Requests under /svc/ by service and response status.');
    for (const [service, byStatus] of this.#requests) {
      for (const [status, count] of byStatus) out.sample('etcd_edge_requests_total', count, { service, status: String(status) });
    }
    out.family('etcd_edge_upstream_duration_seconds', 'histogram', 'Time from the first attempt to the response headers sent on.');
    let cumulative = 0;
    BUCKETS.forEach((le, i) => {
      cumulative += this.#buckets[i]!;
      out.sample('etcd_edge_upstream_duration_seconds_bucket', cumulative, { le: String(le) });
    });
    out.sample('etcd_edge_upstream_duration_seconds_bucket', this.#latencyCount, { le: '+Inf' });
    out.sample('etcd_edge_upstream_duration_seconds_sum', this.#latencySum).sample('etcd_edge_upstream_duration_seconds_count', this.#latencyCount);
    out.family('etcd_edge_upstream_retries_total', 'counter', 'Attempts sent to another instance after one failed.').sample('etcd_edge_upstream_retries_total', this.#retries);
    out.family('etcd_edge_ejections_total', 'counter', 'Instances ejected after failing in a row.').sample('etcd_edge_ejections_total', this.#ejections);
    out.family('etcd_edge_etcd_calls_total', 'counter', 'HTTP calls to etcd (a watch stream counts once).');
    out.sample('etcd_edge_etcd_calls_total', this.#etcdCalls.ok, { outcome: 'ok' }).sample('etcd_edge_etcd_calls_total', this.#etcdCalls.error, { outcome: 'error' });
    out.family('etcd_edge_websocket_upgrades_total', 'counter', 'WebSocket handshakes under /svc/ by result (upgraded, declined, failed, limited).');
    for (const [result, count] of Object.entries(this.#upgrades)) out.sample('etcd_edge_websocket_upgrades_total', count, { result });
    out.family('etcd_edge_websocket_connections', 'gauge', 'Upgraded WebSocket connections being relayed.').sample('etcd_edge_websocket_connections', this.#websockets);
    const cache: [string, number, string][] = [
      ['hits', resolver.hits, 'Lookups served from a fresh snapshot.'],
      ['misses', resolver.misses, 'Lookups that waited for etcd.'],
      ['stale_serves', resolver.staleServes, 'Lookups served stale while a refresh ran.'],
      ['stale_if_error_serves', resolver.staleIfErrorServes, 'Lookups served stale because etcd was failing.'],
      ['refreshes', resolver.refreshes, 'Reads of a service from etcd.'],
      ['refresh_failures', resolver.refreshFailures, 'Reads of a service that failed.'],
      ['skipped_records', resolver.skippedRecords, 'Registry records that did not decode.'],
    ];
    for (const [name, value, help] of cache) out.family(`etcd_edge_cache_${name}_total`, 'counter', help).sample(`etcd_edge_cache_${name}_total`, value);
    out.family('etcd_edge_watches', 'gauge', 'Open etcd watch streams.').sample('etcd_edge_watches', watches);
    return out.text();
  }
}
