import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from './metrics.js';

const STATS = { hits: 0, misses: 0, staleServes: 0, staleIfErrorServes: 0, refreshes: 0, refreshFailures: 0, skippedRecords: 0 };

const line = (text: string, name: string): string | undefined => text.split('\n').find((l) => l.startsWith(name));

describe('GatewayMetrics', () => {
  it('renders the upstream latency histogram with cumulative buckets, +Inf, sum and count', () => {
    const metrics = new GatewayMetrics();
    for (const seconds of [0.0005, 0.003, 0.003, 0.7, 20]) metrics.upstreamLatency(seconds);
    const text = metrics.render(STATS, 0);
    const bucket = (le: string) => line(text, `etcd_edge_upstream_duration_seconds_bucket{le="${le}"} `)?.split(' ')[1];
    expect([bucket('0.001'), bucket('0.0025'), bucket('0.005'), bucket('0.5'), bucket('1'), bucket('10'), bucket('+Inf')]).toEqual(['1', '1', '3', '3', '4', '4', '5']);
    expect(line(text, 'etcd_edge_upstream_duration_seconds_count ')).toBe('etcd_edge_upstream_duration_seconds_count 5');
    expect(Number(line(text, 'etcd_edge_upstream_duration_seconds_sum ')?.split(' ')[1])).toBeCloseTo(20.7065, 6);
  });

  it('counts requests by service and status, unrouted ones apart', () => {
    const metrics = new GatewayMetrics();
    metrics.request('orders', 200);
    metrics.request('orders', 200);
    metrics.request('orders', 503);
    metrics.request(undefined, 400);
    const text = metrics.render(STATS, 0);
    expect(text).toContain('etcd_edge_requests_total{service="orders",status="200"} 2\n');
    expect(text).toContain('etcd_edge_requests_total{service="orders",status="503"} 1\n');
    expect(text).toContain('etcd_edge_requests_total{service="_unrouted",status="400"} 1\n');
  });
});
