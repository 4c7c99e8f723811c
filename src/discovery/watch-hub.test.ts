import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../testing/internal/until.js';
import { EtcdClient, type FetchLike } from '../etcd/index.js';
import { nativeLayout } from '../registry/index.js';
import { FakeEtcd } from '../testing/index.js';
import { WatchHub } from './watch-hub.js';

const native = nativeLayout();
const closers: (() => void)[] = [];

afterEach(() => closers.splice(0).forEach((close) => close()));

/** A hub over the fake whose range calls can be held back, to land a fault while a first read is in flight. */
function setup() {
  const fake = new FakeEtcd();
  const gate = { held: 0, open: Promise.resolve() };
  const fetch: FetchLike = async (url, init) => {
    if (url.endsWith('/v3/kv/range')) {
      gate.held++;
      await gate.open;
    }
    return fake.fetch(url, init);
  };
  const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch, timeoutMs: 5_000 });
  const lost: string[] = [];
  const changed: string[] = [];
  const hub = new WatchHub(etcd, [native], { pageSize: 100, now: Date.now, silenceMs: 0, onLost: (service) => lost.push(service), onChange: (service) => changed.push(service) });
  closers.push(() => hub.close(), () => fake.close());
  const add = async (service: string, url: string): Promise<void> => {
    const record = native.encode({ service, url });
    await etcd.put(record.key, record.value);
  };
  const hold = (): (() => void) => {
    let release = (): void => undefined;
    gate.open = new Promise((resolve) => (release = resolve));
    return () => {
      gate.open = Promise.resolve();
      release();
    };
  };
  return { fake, hub, lost, changed, gate, add, hold };
}

const urls = (hub: WatchHub, service: string): string[] | undefined => hub.live(service)?.snapshot(0).instances.map((i) => i.url);

describe('WatchHub', () => {
  it('tells of a change to a watched service, and of none to a service nobody tracks', async () => {
    const { hub, changed, add } = setup();
    await add('orders', 'http://10.0.0.1:80');
    await hub.track('orders');
    expect(changed).toEqual([]);
    await add('orders', 'http://10.0.0.2:80');
    await add('billing', 'http://10.0.0.3:80');
    await until(() => hub.live('orders')?.snapshot(Date.now()).instances.length === 2);
    expect(changed).toEqual(['orders']);
  });

  it('watches a service whose shared feed was lost to compaction while its first read was in flight', async () => {
    const { fake, hub, lost, gate, add, hold } = setup();
    await add('a', '10.0.0.1:80');
    await hub.track('a');
    const release = hold();
    const first = hub.track('b');
    await until(() => gate.held === 2);
    // The shared stream breaks and its resume revision is compacted before it reconnects.
    await until(() => fake.breakWatchStreams('error') > 0);
    await add('b', '10.0.0.2:80');
    await add('a', '10.0.0.4:80');
    fake.store.compact(fake.store.revision);
    await until(() => lost.includes('b'));
    release();
    expect((await first).instances.map((i) => i.url)).toEqual(['http://10.0.0.2:80']);
    await add('b', '10.0.0.3:80');
    await until(() => urls(hub, 'b')?.length === 2, 3_000);
    expect(urls(hub, 'b')).toEqual(['http://10.0.0.2:80', 'http://10.0.0.3:80']);
  });
});
