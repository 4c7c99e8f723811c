import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { buildSnapshot, type Snapshot } from '../../discovery/index.js';
import { EtcdError } from '../../etcd/index.js';
import { PrimarySource, type PrimaryChannel } from './primary-source.js';
import type { PrimaryMessage, WorkerMessage } from './snapshot-ipc.js';

/** The primary's end of the channel, answered by the test. */
function channel(): PrimaryChannel & { sent: WorkerMessage[]; answer(message: PrimaryMessage): void } {
  const events = new EventEmitter();
  const sent: WorkerMessage[] = [];
  return {
    sent,
    send: (message) => void sent.push(message),
    on: (event, listener) => void events.on(event, listener),
    // What crossed the channel is a copy, as JSON serialization makes it.
    answer: (message) => void events.emit('message', JSON.parse(JSON.stringify(message))),
  };
}

const snapshot = (revision: number): Snapshot => buildSnapshot('orders', [], revision, 1);

describe('PrimarySource', () => {
  it('reads with the revision held; "unchanged" keeps the snapshot held', async () => {
    const ch = channel();
    const source = new PrimarySource(ch);
    const first = source.read('orders', undefined);
    expect(ch.sent[0]).toMatchObject({ kind: 'read', service: 'orders', held: undefined });
    ch.answer({ etcdEdge: 1, kind: 'snapshot', id: 1, snapshot: snapshot(7) });
    const held = await first;
    expect(held.revision).toBe(7);
    expect(Object.isFrozen(held.instances)).toBe(true);
    const again = source.read('orders', held);
    expect(ch.sent[1]).toMatchObject({ kind: 'read', held: 7 });
    ch.answer({ etcdEdge: 1, kind: 'snapshot', id: 2, snapshot: undefined });
    expect(await again).toBe(held);
  });

  it("rebuilds etcd's typed errors, so the resolver serves stale-if-error and the gateway answers 503", async () => {
    const ch = channel();
    const read = new PrimarySource(ch).read('orders', undefined);
    ch.answer({ etcdEdge: 1, kind: 'failed', id: 1, error: { name: 'EtcdUnavailableError', code: 'ETCD_UNAVAILABLE', message: 'down', retryable: true } });
    await expect(read).rejects.toSatisfy((error) => error instanceof EtcdError && error.code === 'ETCD_UNAVAILABLE');
  });

  it('tracks once for concurrent lookups, then serves what the primary pushes, until untracked', async () => {
    const ch = channel();
    const source = new PrimarySource(ch);
    const tracker = source.tracker();
    const [a, b] = [tracker.track('orders'), tracker.track('orders')];
    expect(ch.sent.filter((m) => m.kind === 'track')).toHaveLength(1);
    ch.answer({ etcdEdge: 1, kind: 'snapshot', id: 1, snapshot: snapshot(3) });
    expect((await a).revision).toBe(3);
    expect((await b).revision).toBe(3);
    ch.answer({ etcdEdge: 1, kind: 'changed', service: 'orders', snapshot: snapshot(4), brokenSince: 99 });
    expect(tracker.live('orders')?.snapshot(0).revision).toBe(4);
    expect(tracker.live('orders')?.brokenSince).toBe(99);
    tracker.untrack('orders');
    expect(ch.sent.at(-1)).toEqual({ etcdEdge: 1, kind: 'untrack', service: 'orders' });
    ch.answer({ etcdEdge: 1, kind: 'changed', service: 'orders', snapshot: snapshot(5) });
    expect(tracker.live('orders')).toBeUndefined();
  });
});
