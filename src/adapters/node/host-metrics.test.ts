import { describe, expect, it } from 'vitest';
import { hostMetrics } from './host-metrics.js';

const primary = `# HELP etcd_edge_requests_total Requests.
# TYPE etcd_edge_requests_total counter
# HELP etcd_edge_etcd_calls_total Calls.
# TYPE etcd_edge_etcd_calls_total counter
etcd_edge_etcd_calls_total{outcome="ok"} 3
# HELP etcd_edge_watches Watches.
# TYPE etcd_edge_watches gauge
etcd_edge_watches 1
# HELP process_resident_memory_bytes RSS.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 100
`;

const worker = (requests: number, rss: number): string => `# HELP etcd_edge_requests_total Requests.
# TYPE etcd_edge_requests_total counter
etcd_edge_requests_total{service="a",status="200"} ${requests}
etcd_edge_requests_total{service="b",status="502"} 1
# HELP etcd_edge_upstream_duration_seconds Latency.
# TYPE etcd_edge_upstream_duration_seconds histogram
etcd_edge_upstream_duration_seconds_bucket{le="0.1"} ${requests}
etcd_edge_upstream_duration_seconds_bucket{le="+Inf"} ${requests + 1}
etcd_edge_upstream_duration_seconds_sum 0.5
etcd_edge_upstream_duration_seconds_count ${requests + 1}
# HELP etcd_edge_etcd_calls_total Calls.
# TYPE etcd_edge_etcd_calls_total counter
etcd_edge_etcd_calls_total{outcome="ok"} 0
# HELP etcd_edge_watches Watches.
# TYPE etcd_edge_watches gauge
etcd_edge_watches 0
# HELP process_resident_memory_bytes RSS.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes ${rss}
# HELP nodejs_active_resources Resources.
# TYPE nodejs_active_resources gauge
nodejs_active_resources{type="TCPWrap"} 2
`;

describe('hostMetrics', () => {
  const text = hostMetrics(primary, [
    { worker: 1, pid: 11, text: worker(5, 200) },
    { worker: 2, pid: 12, text: worker(7, 300) },
  ]);
  const lines = text.split('\n');

  it('sums what workers count (requests, the latency histogram)', () => {
    expect(lines).toContain('etcd_edge_requests_total{service="a",status="200"} 12');
    expect(lines).toContain('etcd_edge_requests_total{service="b",status="502"} 2');
    expect(lines).toContain('etcd_edge_upstream_duration_seconds_bucket{le="+Inf"} 14');
    expect(lines).toContain('etcd_edge_upstream_duration_seconds_sum 1');
    expect(lines).toContain('etcd_edge_upstream_duration_seconds_count 14');
  });

  it("keeps the primary's etcd figures: workers never call etcd", () => {
    expect(lines).toContain('etcd_edge_etcd_calls_total{outcome="ok"} 3');
    expect(lines).toContain('etcd_edge_watches 1');
    expect(lines.filter((l) => l.startsWith('etcd_edge_watches '))).toHaveLength(1);
  });

  it("labels each process's own figures with its worker instead of summing them", () => {
    expect(lines).toContain('process_resident_memory_bytes{worker="primary"} 100');
    expect(lines).toContain('process_resident_memory_bytes{worker="1",pid="11"} 200');
    expect(lines).toContain('process_resident_memory_bytes{worker="2",pid="12"} 300');
    expect(lines).toContain('nodejs_active_resources{worker="2",pid="12",type="TCPWrap"} 2');
    expect(lines).toContain('etcd_edge_worker_requests_total{worker="1",pid="11"} 6');
  });

  it('names each family once, its HELP and TYPE before its samples', () => {
    expect(lines.filter((l) => l === '# TYPE etcd_edge_requests_total counter')).toHaveLength(1);
    expect(lines.indexOf('# TYPE process_resident_memory_bytes gauge')).toBeLessThan(lines.indexOf('process_resident_memory_bytes{worker="primary"} 100'));
  });
});
