import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, grpcNamingLayout, kitexLayout, nativeLayout, register, Resolver, type RegisteredInstance } from '../src/index.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { etcdctl, etcdctlLease } from './support/etcdctl.js';

let cluster: EtcdCluster;
let etcd: EtcdClient;
const layouts = [nativeLayout(), grpcNamingLayout(), kitexLayout()];

beforeAll(async () => {
  cluster = await startEtcd();
  etcd = new EtcdClient({ endpoints: cluster.endpoints });
});

afterAll(async () => {
  await cluster?.close();
});

const put = (key: string, value: string, lease?: string): string =>
  etcdctl(cluster.endpoints, 'put', key, value, ...(lease ? [`--lease=${BigInt(lease).toString(16)}`] : []));

describe('interoperability with Go registries', () => {
  it('resolves entries written with etcdctl in the three formats, with and without leases', async () => {
    const lease = etcdctlLease(cluster.endpoints, 60);
    put('services/shop/a', '{"Op":0,"Addr":"http://10.0.0.5:8080","Metadata":{"weight":5,"tags":{"zone":"fra"}}}', lease);
    put('services/shop/b', '{"Addr":"https://api.internal:8443","Metadata":{"weight":0}}');
    put('shop/1.2.3.4', '{"Addr":"1.2.3.4","Metadata":"..."}');
    put('shop/10.0.0.6:9000', '{"Op":0,"Addr":"10.0.0.6:9000","Metadata":{"weight":3}}', lease);
    put('kitex/registry-etcd/shop/10.0.0.7:8888', '{"network":"tcp","address":"10.0.0.7:8888","weight":0,"tags":null}');
    put('kitex/registry-etcd/shop/10.0.0.8:8888', '{"network":"tcp","address":"10.0.0.8:8888","weight":20,"tags":{"lane":"canary"}}', lease);
    put('services/shop/bad', 'not json');
    put('shop/10.0.0.9:1', '{"Op":1,"Addr":"10.0.0.9:1"}');

    const snapshot = await new Resolver({ etcd, layouts }).resolve('shop');
    expect(snapshot.instances.map((i) => ({ layout: i.layout, url: i.url, weight: i.weight, tags: i.tags, leaseId: i.leaseId }))).toEqual([
      { layout: 'kitex', url: 'http://10.0.0.7:8888', weight: 10, tags: {}, leaseId: undefined },
      { layout: 'kitex', url: 'http://10.0.0.8:8888', weight: 20, tags: { lane: 'canary' }, leaseId: lease },
      { layout: 'native', url: 'http://10.0.0.5:8080', weight: 5, tags: { zone: 'fra' }, leaseId: lease },
      { layout: 'native', url: 'https://api.internal:8443', weight: 0, tags: {}, leaseId: undefined },
      { layout: 'grpc-naming', url: 'http://1.2.3.4:80', weight: 1, tags: {}, leaseId: undefined },
      { layout: 'grpc-naming', url: 'http://10.0.0.6:9000', weight: 3, tags: {}, leaseId: lease },
    ]);
    expect(snapshot.skipped.map((s) => [s.key, s.reason])).toEqual([
      ['services/shop/bad', 'value is not valid UTF-8 JSON'],
      ['shop/10.0.0.9:1', 'Op is 1 (delete)'],
    ]);
  });

  it('writes in each layout byte for byte the JSON that Go writes for the same record', async () => {
    const registered: RegisteredInstance[] = [];
    const expected: [string, string][] = [
      ['services/cart/10.0.0.5:8080', '{"Op":0,"Addr":"http://10.0.0.5:8080","Metadata":{"tags":{"zone":"fra"},"weight":5}}'],
      ['cart/10.0.0.5:8080', '{"Op":0,"Addr":"10.0.0.5:8080","Metadata":{"tags":{"zone":"fra"},"weight":5}}'],
      ['kitex/registry-etcd/cart/10.0.0.5:8080', '{"network":"tcp","address":"10.0.0.5:8080","weight":5,"tags":{"zone":"fra"}}'],
    ];
    for (const layout of layouts) {
      registered.push(await register(etcd, { service: 'cart', url: 'http://10.0.0.5:8080', weight: 5, tags: { zone: 'fra' }, layout }));
    }
    for (const [i, [key, value]] of expected.entries()) {
      expect(registered[i]!.key).toBe(key);
      expect(etcdctl(cluster.endpoints, 'get', key, '--print-value-only')).toBe(`${value}\n`);
      const leases = etcdctl(cluster.endpoints, 'lease', 'timetolive', BigInt(registered[i]!.leaseId).toString(16), '--keys');
      expect(leases).toContain(key);
    }
    await Promise.all(registered.map((r) => r.close()));
    expect(etcdctl(cluster.endpoints, 'get', '--prefix', 'cart/', '--keys-only')).toBe('');
  });
});
