import { describe, expect, it, vi } from 'vitest';
import type { Snapshot, SnapshotSource } from '../../discovery/index.js';
import type { Instance } from '../../registry/index.js';
import { HubSource } from './hub-source.js';
import { HUB_NAME, type HubAnswer, type HubNamespace } from './hub-wire.js';

const instance: Instance = { service: 'orders', id: 'a', url: 'http://10.0.0.5:8080', weight: 1, tags: {}, metadata: null, key: 'services/orders/a', layout: 'native', leaseId: '0', revision: 4 };

function snapshot(revision: number): Snapshot {
  return { service: 'orders', instances: [instance], skipped: [], revision, fetchedAt: 0 };
}

/** A Durable Object namespace whose one stub answers with `answer`, recording what it was asked. */
function fakeHub(answer: (service: string, held: number | undefined) => Promise<HubAnswer>): HubNamespace & { names: string[]; hints: (string | undefined)[]; calls: number } {
  const hub = {
    names: [] as string[],
    hints: [] as (string | undefined)[],
    calls: 0,
    idFromName: (name: string) => {
      hub.names.push(name);
      return { name };
    },
    get: (_id: unknown, options?: { locationHint?: string }) => {
      hub.hints.push(options?.locationHint);
      return {
        snapshot: (service: string, held: number | undefined) => {
          hub.calls++;
          return answer(service, held);
        },
      };
    },
  };
  return hub;
}

function direct(read: SnapshotSource['read'] = async () => snapshot(99)): SnapshotSource & { reads: number } {
  const source = {
    reads: 0,
    callBoundMs: 5_000,
    read: (service: string, previous: Snapshot | undefined) => {
      source.reads++;
      return read(service, previous);
    },
  };
  return source;
}

const failing = () => fakeHub(async () => Promise.reject(new Error('Durable Object reset because its code was updated')));

describe('HubSource', () => {
  it('asks the one named hub with the revision it holds, and returns a frozen copy stamped now', async () => {
    const hub = fakeHub(async () => ({ unchanged: false, snapshot: snapshot(7) }));
    const source = new HubSource({ hub, now: () => 1234 });
    const read = await source.read('orders', undefined);
    expect(read).toMatchObject({ revision: 7, fetchedAt: 1234, instances: [instance] });
    expect(Object.isFrozen(read)).toBe(true);
    expect(Object.isFrozen(read.instances)).toBe(true);
    expect(Object.isFrozen(read.skipped)).toBe(true);
    expect(hub.names).toEqual([HUB_NAME]);
    expect(hub.hints).toEqual([undefined]);
  });

  it('a location hint names a hub of its own and is passed to get()', async () => {
    const hub = fakeHub(async () => ({ unchanged: false, snapshot: snapshot(7) }));
    const source = new HubSource({ hub, locationHint: 'weur' });
    await source.read('orders', undefined);
    expect(hub.names).toEqual([`${HUB_NAME}-weur`]);
    expect(hub.hints).toEqual(['weur']);
    expect(source.health().fields).toMatchObject({ name: `${HUB_NAME}-weur`, locationHint: 'weur' });
  });

  it('"unchanged" returns the previous snapshot itself', async () => {
    let held: number | undefined;
    const hub = fakeHub(async (_service, revision) => {
      held = revision;
      return { unchanged: true };
    });
    const previous = Object.freeze(snapshot(7));
    expect(await new HubSource({ hub }).read('orders', previous)).toBe(previous);
    expect(held).toBe(7);
  });

  it('"unchanged" to an isolate holding nothing is a failure (read directly when a fallback is set)', async () => {
    const hub = fakeHub(async () => ({ unchanged: true }));
    await expect(new HubSource({ hub }).read('orders', undefined)).rejects.toThrow(/unchanged/);
    const fallback = direct();
    expect((await new HubSource({ hub, fallback }).read('orders', undefined)).revision).toBe(99);
    expect(fallback.reads).toBe(1);
  });

  it('a failing hub is read around with the fallback, and fails without one', async () => {
    const fallback = direct();
    const previous = snapshot(3);
    let given: Snapshot | undefined;
    fallback.read = async (_service, held) => {
      given = held;
      return snapshot(99);
    };
    expect((await new HubSource({ hub: failing(), fallback }).read('orders', previous)).revision).toBe(99);
    expect(given).toBe(previous);
    await expect(new HubSource({ hub: failing() }).read('orders', undefined)).rejects.toThrow(/Durable Object reset/);
  });

  it('onHubFailure is told once per failing streak', async () => {
    let fail = true;
    const hub = fakeHub(async () => (fail ? Promise.reject(new Error('hub down')) : { unchanged: false, snapshot: snapshot(8) }));
    const onHubFailure = vi.fn();
    const source = new HubSource({ hub, fallback: direct(), onHubFailure });
    for (let i = 0; i < 3; i++) await source.read('orders', undefined);
    expect(onHubFailure).toHaveBeenCalledTimes(1);
    fail = false;
    expect((await source.read('orders', undefined)).revision).toBe(8);
    fail = true;
    await source.read('orders', undefined);
    await source.read('orders', undefined);
    expect(onHubFailure).toHaveBeenCalledTimes(2);
  });

  it('a hub that does not answer in time counts as failed', async () => {
    const hub = fakeHub(() => new Promise<HubAnswer>(() => undefined));
    const fallback = direct();
    const source = new HubSource({ hub, fallback, callTimeoutMs: 20 });
    expect((await source.read('orders', undefined)).revision).toBe(99);
    expect(source.health()).toMatchObject({ ok: false, fields: { lastCallFailed: true, onFallback: true } });
  });

  it('callBoundMs is the hub call bound plus the fallback read bound', () => {
    expect(new HubSource({ hub: failing() }).callBoundMs).toBe(10_000);
    expect(new HubSource({ hub: failing(), fallback: direct() }).callBoundMs).toBe(15_000);
    expect(new HubSource({ hub: failing(), fallback: direct(), callTimeoutMs: 500 }).callBoundMs).toBe(5_500);
  });

  it('health says which hub, whether its last call failed and whether reads go direct', async () => {
    let fail = false;
    const hub = fakeHub(async () => (fail ? Promise.reject(new Error('at Object.snapshot (hub.ts:12)')) : { unchanged: false, snapshot: snapshot(8) }));
    const withFallback = new HubSource({ hub, fallback: direct() });
    const without = new HubSource({ hub });
    expect(withFallback.health()).toEqual({ section: 'hub', ok: true, fields: { name: HUB_NAME, fallback: true, lastCallFailed: false, onFallback: false } });
    fail = true;
    await withFallback.read('orders', undefined);
    await without.read('orders', undefined).catch(() => undefined);
    expect(withFallback.health()).toEqual({ section: 'hub', ok: false, fields: { name: HUB_NAME, fallback: true, lastCallFailed: true, onFallback: true } });
    expect(without.health()).toEqual({ section: 'hub', ok: false, fields: { name: HUB_NAME, fallback: false, lastCallFailed: true, onFallback: false } });
    fail = false;
    await withFallback.read('orders', undefined);
    expect(withFallback.health().fields).toMatchObject({ lastCallFailed: false, onFallback: false });
  });
});
