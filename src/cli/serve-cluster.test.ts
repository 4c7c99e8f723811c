import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { workerCount } from './serve-cluster.js';

describe('workerCount', () => {
  it('is 1 unless told: one process, no cluster', () => {
    expect(workerCount(undefined, {})).toBe(1);
  });

  it('takes --workers over ETCD_EDGE_WORKERS, and auto as one per core', () => {
    expect(workerCount(undefined, { ETCD_EDGE_WORKERS: '3' })).toBe(3);
    expect(workerCount('2', { ETCD_EDGE_WORKERS: '3' })).toBe(2);
    expect(workerCount('auto', {})).toBe(availableParallelism());
    expect(workerCount(undefined, { ETCD_EDGE_WORKERS: 'auto' })).toBe(availableParallelism());
  });

  it('refuses what is not a count', () => {
    for (const value of ['0', '-1', '1.5', 'all', '257']) expect(() => workerCount(value, {})).toThrow(UsageError);
  });
});
