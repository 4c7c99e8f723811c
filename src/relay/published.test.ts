import { describe, expect, it } from 'vitest';
import { buildSnapshot } from '../discovery/index.js';
import type { Decoded } from '../registry/index.js';
import { bodyOf, Publications } from './published.js';

function record(id: string, revision: number): Decoded {
  return {
    ok: true,
    instance: { service: 'orders', id, url: `http://10.0.0.${id}:80`, weight: 1, tags: {}, metadata: {}, key: `services/orders/${id}`, layout: 'native', leaseId: '7587885839149498999', revision },
  };
}

describe('Publications', () => {
  it('keeps the revision while the lists stay the same, and moves it when they change', () => {
    const publications = new Publications(10);
    const first = publications.of(buildSnapshot('orders', [record('1', 5)], 10, 0));
    expect(first.revision).toBe(10);
    // A resync at a later etcd revision with the same records: nothing to wake anyone for.
    expect(publications.of(buildSnapshot('orders', [record('1', 5)], 20, 0)).revision).toBe(10);
    expect(publications.of(buildSnapshot('orders', [record('1', 5), record('2', 21)], 21, 0)).revision).toBe(21);
  });

  it('never goes back to a revision at or below one served', () => {
    const publications = new Publications(10);
    publications.of(buildSnapshot('orders', [record('1', 5)], 30, 0));
    expect(publications.of(buildSnapshot('orders', [], 25, 0)).revision).toBe(31);
  });

  it('writes the body of the wire contract, lease IDs as decimal strings', () => {
    const published = new Publications(10).of(buildSnapshot('orders', [record('1', 5)], 10, 0));
    const body = JSON.parse(bodyOf(published, 12, false)) as Record<string, unknown>;
    expect(body).toEqual({
      service: 'orders',
      revision: 10,
      instances: [{ service: 'orders', id: '1', url: 'http://10.0.0.1:80', weight: 1, tags: {}, metadata: {}, key: 'services/orders/1', layout: 'native', leaseId: '7587885839149498999', revision: 5 }],
      skipped: [],
      ageMs: 12,
      stale: false,
    });
  });

  it('remembers at most max services', () => {
    const publications = new Publications(1);
    publications.of(buildSnapshot('a', [], 10, 0));
    publications.of(buildSnapshot('b', [], 11, 0));
    // 'a' was forgotten: its revision is the snapshot's again.
    expect(publications.of(buildSnapshot('a', [], 40, 0)).revision).toBe(40);
  });
});
