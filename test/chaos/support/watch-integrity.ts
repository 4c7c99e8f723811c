import { mulberry32 as prng } from '../../../src/testing/internal/balance.js';
import { compare, decodeRecord, nativeLayout, op, type EtcdClient, type TxnOp } from '../../../src/index.js';

const native = nativeLayout();


/** Values under a service's keys that must be skipped, never fatal. */
const MALFORMED = [
  'not json {',
  '{"Op":0,"Addr":"not an address"}',
  '{"Op":0,"Addr":"http://10.9.9.9:80","Metadata":{"weight":"heavy"}}',
  '{"Op":0,"Addr":"http://10.9.9.9:80","Metadata":{"weight":-1}}',
  '',
];

export type OpKind = 'put' | 'update' | 'delete' | 'delete-service' | 'malformed' | 'txn' | 'foreign' | 'delete-missing';

/**
 * A random mix of registry changes across `services`, written straight to etcd.
 * It remembers which ids it wrote only to pick targets: the truth is a range of etcd.
 */
export class Workload {
  readonly counts = new Map<OpKind, number>();
  readonly #etcd: EtcdClient;
  readonly #random: () => number;
  readonly #services: readonly string[];
  readonly #ids = new Map<string, Set<string>>();
  #next = 0;

  constructor(etcd: EtcdClient, services: readonly string[], seed: number) {
    this.#etcd = etcd;
    this.#services = services;
    this.#random = prng(seed);
    for (const service of services) this.#ids.set(service, new Set());
  }

  /** Registers `perService` instances in each service. */
  async populate(perService: number): Promise<void> {
    for (const service of this.#services) {
      for (let i = 0; i < perService; i++) await this.#etcd.put(...this.#put(service, this.#fresh()));
    }
  }

  /** Applies one random change. */
  async step(): Promise<OpKind> {
    const roll = this.#random();
    const service = this.#pick(this.#services);
    const ids = [...this.#ids.get(service)!];
    const kind: OpKind =
      roll < 0.3 || (ids.length === 0 && roll < 0.85) ? 'put'
      : roll < 0.55 ? 'update'
      : roll < 0.7 ? 'delete'
      : roll < 0.73 ? 'delete-service'
      : roll < 0.8 ? 'malformed'
      : roll < 0.9 ? 'txn'
      : roll < 0.95 ? 'foreign'
      : 'delete-missing';
    await this.#apply(kind, service, ids);
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    return kind;
  }

  /**
   * Updates a random live instance and returns its service with the delete
   * that removes it, to be made later (e.g. at a revision about to be compacted).
   */
  async updateThenDelete(): Promise<{ service: string; revision: number; remove: () => Promise<void> } | undefined> {
    const service = this.#services.find((name) => this.#ids.get(name)!.size > 0);
    if (service === undefined) return undefined;
    const id = this.#pick([...this.#ids.get(service)!]);
    const { header } = await this.#etcd.put(...this.#put(service, id));
    this.counts.set('update', (this.counts.get('update') ?? 0) + 1);
    const remove = async (): Promise<void> => {
      this.#ids.get(service)!.delete(id);
      await this.#etcd.delete(native.servicePrefix(service) + id);
      this.counts.set('delete', (this.counts.get('delete') ?? 0) + 1);
    };
    return { service, revision: header.revision, remove };
  }

  async #apply(kind: OpKind, service: string, ids: string[]): Promise<void> {
    const prefix = native.servicePrefix(service);
    switch (kind) {
      case 'put':
        return void (await this.#etcd.put(...this.#put(service, this.#fresh())));
      case 'update':
        return void (await this.#etcd.put(...this.#put(service, this.#pick(ids))));
      case 'delete': {
        const id = this.#pick(ids);
        this.#ids.get(service)!.delete(id);
        return void (await this.#etcd.delete(prefix + id));
      }
      case 'delete-service':
        this.#ids.get(service)!.clear();
        return void (await this.#etcd.delete({ prefix }));
      case 'malformed': {
        // Half over a live instance (which must then disappear), half under a new id.
        const id = ids.length > 0 && this.#random() < 0.5 ? this.#pick(ids) : this.#fresh();
        this.#ids.get(service)!.add(id);
        return void (await this.#etcd.put(prefix + id, this.#pick(MALFORMED)));
      }
      case 'txn':
        return void (await this.#etcd.txn({ compare: [compare.version('chaos5/none', '=', 0)], success: this.#txnOps() }));
      case 'foreign':
        // Keys under the root that name no instance: ignored, never an instance.
        return void (await this.#etcd.put(this.#pick([`${prefix}`, prefix.slice(0, -1)]), 'x'));
      case 'delete-missing':
        return void (await this.#etcd.delete(`${prefix}missing-${this.#next}`));
    }
  }

  /** Two to five puts and deletes over random services, committed together. */
  #txnOps(): TxnOp[] {
    const ops: TxnOp[] = [];
    const touched = new Set<string>();
    const count = 2 + Math.floor(this.#random() * 4);
    for (let i = 0; i < count; i++) {
      const service = this.#pick(this.#services);
      const ids = [...this.#ids.get(service)!].filter((id) => !touched.has(service + id));
      if (ids.length > 0 && this.#random() < 0.4) {
        const id = this.#pick(ids);
        touched.add(service + id);
        this.#ids.get(service)!.delete(id);
        ops.push(op.delete(native.servicePrefix(service) + id));
      } else {
        const id = ids.length > 0 && this.#random() < 0.5 ? this.#pick(ids) : this.#fresh();
        touched.add(service + id);
        ops.push(op.put(...this.#put(service, id)));
      }
    }
    return ops;
  }

  /** A seeded integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.#random() * n);
  }

  #put(service: string, id: string): [string, string] {
    this.#ids.get(service)!.add(id);
    const octet = (): number => 1 + Math.floor(this.#random() * 250);
    const tags = this.#random() < 0.5 ? { zone: this.#pick(['fra', 'ams', 'par']), rev: String(this.#next) } : {};
    const record = native.encode({
      service,
      id,
      url: `http://10.${octet()}.${octet()}.${octet()}:${1_000 + Math.floor(this.#random() * 9_000)}`,
      weight: Math.floor(this.#random() * 10),
      tags,
    });
    return [record.key, record.value];
  }

  #fresh(): string {
    return `i${++this.#next}`;
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)]!;
  }
}

/** What one service holds, in a form two sources can be compared by. */
export interface ServiceView {
  /** `id url weight tags`, sorted; a duplicate shows up twice. */
  instances: string[];
  /** Keys of records that did not decode, sorted. */
  skipped: string[];
}

interface InstanceLike {
  id: string;
  url: string;
  weight: number;
  tags: Readonly<Record<string, string>>;
}

export function viewOf(instances: readonly InstanceLike[], skipped: readonly { key: string }[]): ServiceView {
  const tags = (t: Readonly<Record<string, string>>): string => JSON.stringify(Object.entries(t).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    instances: instances.map((i) => `${i.id} ${i.url} ${i.weight} ${tags(i.tags)}`).sort(),
    skipped: skipped.map((s) => s.key).sort(),
  };
}

/** Every service's view from one fresh range of etcd. */
export async function etcdViews(etcd: EtcdClient, services: readonly string[]): Promise<Map<string, ServiceView>> {
  const { kvs } = await etcd.range({ prefix: native.root! });
  const instances = new Map<string, InstanceLike[]>(services.map((s) => [s, []]));
  const skipped = new Map<string, { key: string }[]>(services.map((s) => [s, []]));
  for (const kv of kvs) {
    const decoded = decodeRecord(native, kv);
    if (!decoded) continue;
    if (decoded.ok) instances.get(decoded.instance.service)?.push(decoded.instance);
    else skipped.get(native.parseKey(decoded.skipped.key)!.service)?.push(decoded.skipped);
  }
  return new Map(services.map((s) => [s, viewOf(instances.get(s)!, skipped.get(s)!)]));
}

/** Services whose view differs from etcd's, each with both views. */
export function differences(expected: Map<string, ServiceView>, actual: Map<string, ServiceView | string>): string[] {
  const out: string[] = [];
  for (const [service, want] of expected) {
    const got = actual.get(service);
    if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`${service}: etcd ${JSON.stringify(want)} vs ${JSON.stringify(got)}`);
  }
  return out;
}

/** A small seeded PRNG, so a failing run can be replayed from its seed. */
export { prng };
