/**
 * `/_edge/metrics` for a whole host under `serve --workers N`: the primary's
 * text (etcd calls, watches, reads: what the host asked of etcd) with the
 * request-side families summed over every worker (each worker serves its
 * share of requests), and each process's own figures (memory, handles)
 * labelled `worker` rather than summed.
 */

/** Families only workers count (their requests and lookups), summed over them in place of the primary's zeros. */
const SUMMED = new Set([
  'etcd_edge_requests_total',
  'etcd_edge_upstream_duration_seconds',
  'etcd_edge_upstream_retries_total',
  'etcd_edge_ejections_total',
  'etcd_edge_websocket_upgrades_total',
  'etcd_edge_websocket_connections',
  'etcd_edge_cache_hits_total',
  'etcd_edge_cache_misses_total',
  'etcd_edge_cache_stale_serves_total',
  'etcd_edge_cache_stale_if_error_serves_total',
]);

/** One worker's text, as it answered the primary. */
export interface WorkerMetrics {
  /** The worker's slot, 1 to N; a replacement takes its predecessor's. */
  worker: number;
  pid: number;
  text: string;
}

interface Family {
  name: string;
  comments: string[];
  /** Series (name and labels as written) to value, in order. */
  samples: Map<string, number>;
}

/**
 * The host's exposition text.
 *
 * @example
 * hostMetrics(primaryText, [{ worker: 1, pid: 4242, text }]);
 */
export function hostMetrics(primary: string, workers: readonly WorkerMetrics[]): string {
  const host = parse(primary);
  const own = [...host.values()].filter((family) => !family.name.startsWith('etcd_edge_'));
  for (const family of host.values()) {
    if (SUMMED.has(family.name)) family.samples.clear();
  }
  for (const family of own) {
    family.samples = labelled(family.samples, 'worker="primary"');
  }
  for (const { worker, pid, text } of workers) {
    for (const family of parse(text).values()) {
      const target = host.get(family.name) ?? host.set(family.name, { ...family, samples: new Map() }).get(family.name)!;
      if (SUMMED.has(family.name)) {
        for (const [series, value] of family.samples) target.samples.set(series, (target.samples.get(series) ?? 0) + value);
      } else if (!family.name.startsWith('etcd_edge_')) {
        for (const [series, value] of labelled(family.samples, `worker="${worker}",pid="${pid}"`)) target.samples.set(series, value);
      }
    }
  }
  const out: string[] = [];
  for (const family of host.values()) out.push(...family.comments, ...[...family.samples].map(([series, value]) => `${series} ${value}`));
  out.push('# HELP etcd_edge_worker_requests_total Requests under /svc/ each worker answered.', '# TYPE etcd_edge_worker_requests_total counter');
  for (const { worker, pid, text } of workers) out.push(`etcd_edge_worker_requests_total{worker="${worker}",pid="${pid}"} ${requestsOf(text)}`);
  return out.join('\n') + '\n';
}

function parse(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (?:HELP|TYPE) (\S+)/.exec(line);
    if (comment) {
      const name = comment[1]!;
      current = families.get(name) ?? families.set(name, { name, comments: [], samples: new Map() }).get(name)!;
      current.comments.push(line);
      continue;
    }
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const series = line.slice(0, space);
    const name = /^[^{ ]+/.exec(series)![0];
    // A sample without its family's comments (never in our own text) is a family of its own.
    if (!current || !name.startsWith(current.name)) current = families.get(name) ?? families.set(name, { name, comments: [], samples: new Map() }).get(name)!;
    current.samples.set(series, Number(line.slice(space + 1)));
  }
  return families;
}

function labelled(samples: Map<string, number>, labels: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [series, value] of samples) {
    const brace = series.indexOf('{');
    out.set(brace < 0 ? `${series}{${labels}}` : `${series.slice(0, brace + 1)}${labels},${series.slice(brace + 1)}`, value);
  }
  return out;
}

function requestsOf(text: string): number {
  let total = 0;
  for (const [series, value] of parse(text).get('etcd_edge_requests_total')?.samples ?? []) {
    if (series.startsWith('etcd_edge_requests_total')) total += value;
  }
  return total;
}
