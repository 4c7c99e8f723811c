import type { FakeBody } from './fake-body.js';
import type { FakeLeases } from './fake-leases.js';
import { FakeStoreError, type FakeStore, type StoredKv } from './fake-store.js';
import { latin1, latin1Bytes, wireKv } from './fake-wire.js';

type Json = Record<string, unknown>;

/** The fake's `/v3/kv/*` operations, answering in the gateway's JSON shapes. */
export class FakeKv {
  constructor(
    private readonly store: FakeStore,
    private readonly leases: FakeLeases,
  ) {}

  range(b: FakeBody): Json {
    const end = b.json.range_end === undefined ? undefined : b.bytes('range_end');
    const all = this.store.range(b.bytes('key'), end === '' ? undefined : end, b.int('revision'));
    const limit = b.int('limit');
    const kvs = limit > 0 ? all.slice(0, limit) : all;
    const out: Json = {};
    if (!b.flag('count_only') && kvs.length > 0) out.kvs = kvs.map((kv) => wireKv(kv, b.flag('keys_only')));
    if (limit > 0 && all.length > limit) out.more = true;
    if (all.length > 0) out.count = String(all.length);
    return out;
  }

  put(b: FakeBody): Json {
    const { key, prev, lease } = this.#checkPut(b);
    const value = b.flag('ignore_value') ? prev!.value : latin1Bytes(b.bytes('value'));
    this.#moveLease(key, prev, lease);
    this.store.put(key, value, lease);
    return b.flag('prev_kv') && prev ? { prev_kv: wireKv(prev) } : {};
  }

  /** Everything etcd checks before a put changes anything. */
  #checkPut(b: FakeBody): { key: string; prev: StoredKv | undefined; lease: string } {
    const key = b.bytes('key');
    if (key === '') throw new FakeStoreError(3, 'etcdserver: key is not provided');
    if (b.flag('ignore_lease') && b.id('lease') !== '0') throw new FakeStoreError(3, 'etcdserver: lease is provided');
    const prev = this.store.range(key, undefined)[0];
    const lease = b.flag('ignore_lease') ? (prev?.lease ?? '0') : b.id('lease');
    if ((b.flag('ignore_lease') || b.flag('ignore_value')) && !prev) throw new FakeStoreError(3, 'etcdserver: key not found');
    if (lease !== '0' && !this.leases.get(lease)) throw new FakeStoreError(5, 'etcdserver: requested lease not found');
    return { key, prev, lease };
  }

  deleteRange(b: FakeBody): Json {
    const end = b.json.range_end === undefined ? undefined : b.bytes('range_end');
    const events = this.store.delete(b.bytes('key'), end === '' ? undefined : end);
    for (const e of events) if (e.prevKv) this.#moveLease(e.prevKv.key, e.prevKv, '0');
    const out: Json = {};
    if (events.length > 0) out.deleted = String(events.length);
    if (b.flag('prev_kv') && events.length > 0) out.prev_kvs = events.map((e) => wireKv(e.prevKv!));
    return out;
  }

  /**
   * All or nothing, as etcd does: both branches are checked for their shape
   * before the compares, the chosen one for what it refers to before any write,
   * and the store undoes the writes if an operation still fails.
   */
  txn(b: FakeBody): Json {
    for (const branch of ['success', 'failure']) checkTxnShape(b.list(branch));
    const succeeded = b.list('compare').every((c) => this.#holds(c));
    const ops = b.list(succeeded ? 'success' : 'failure');
    this.#checkTxnTargets(ops);
    const responses = this.store.write(() => ops.map((op) => this.#op(op)));
    // Every response in a txn carries the txn's own revision.
    for (const response of responses) for (const inner of Object.values(response)) (inner as Json).header = { revision: String(this.store.revision) };
    return { ...(succeeded ? { succeeded: true } : {}), ...(responses.length > 0 ? { responses } : {}) };
  }

  /** Leases and previous values the puts need, and the revisions the ranges read. */
  #checkTxnTargets(ops: FakeBody[]): void {
    for (const op of ops) {
      const put = op.child('request_put');
      if (put) this.#checkPut(put);
      const range = op.child('request_range');
      if (range && range.int('revision') > 0) this.store.range(range.bytes('key'), undefined, range.int('revision'));
    }
  }

  compact(b: FakeBody): Json {
    this.store.compact(b.int('revision'));
    return {};
  }

  #op(op: FakeBody): Json {
    const range = op.child('request_range');
    if (range) return { response_range: this.range(range) };
    const put = op.child('request_put');
    if (put) return { response_put: this.put(put) };
    return { response_delete_range: this.deleteRange(op.child('request_delete_range')!) };
  }

  #holds(c: FakeBody): boolean {
    const end = c.json.range_end === undefined ? undefined : c.bytes('range_end');
    const kvs = this.store.range(c.bytes('key'), end === '' ? undefined : end);
    // An empty range compares as one absent key (version 0, no value), as etcd does.
    const targets: (StoredKv | undefined)[] = kvs.length > 0 ? kvs : [undefined];
    return targets.every((kv) => compareOne(c, kv));
  }

  #moveLease(key: string, prev: StoredKv | undefined, lease: string): void {
    if (prev && prev.lease !== '0') this.leases.get(prev.lease)?.keys.delete(key);
    if (lease !== '0') this.leases.get(lease)?.keys.add(key);
  }
}

function compareOne(c: FakeBody, kv: StoredKv | undefined): boolean {
  const target = c.text('target') || 'VERSION';
  let order: number;
  if (target === 'VALUE') {
    if (!kv) return false;
    const have = latin1(kv.value);
    const want = c.bytes('value');
    order = have < want ? -1 : have > want ? 1 : 0;
  } else if (target === 'LEASE') {
    order = Math.sign(Number(BigInt(kv?.lease ?? '0') - BigInt(c.id('lease'))));
  } else {
    const field = { VERSION: 'version', CREATE: 'create_revision', MOD: 'mod_revision' }[target] ?? 'version';
    const have = !kv ? 0 : field === 'version' ? kv.version : field === 'create_revision' ? kv.createRevision : kv.modRevision;
    order = Math.sign(have - c.int(field));
  }
  const result = c.text('result') || 'EQUAL';
  return result === 'EQUAL' ? order === 0 : result === 'NOT_EQUAL' ? order !== 0 : result === 'LESS' ? order < 0 : order > 0;
}

function duplicateKey(): FakeStoreError {
  return new FakeStoreError(3, 'etcdserver: duplicate key given in txn request');
}

/** Checks etcd makes on a branch whether or not it runs: keys given, no key written twice. */
function checkTxnShape(ops: FakeBody[]): void {
  const puts = new Set<string>();
  const deletes: [string, string | undefined][] = [];
  for (const op of ops) {
    const target = op.child('request_put') ?? op.child('request_delete_range') ?? op.child('request_range');
    if (!target) throw new FakeStoreError(3, 'the fake etcd supports range, put and delete_range operations in a txn');
    const key = target.bytes('key');
    if (key === '') throw new FakeStoreError(3, 'etcdserver: key is not provided');
    if (op.child('request_put')) {
      if (puts.has(key)) throw duplicateKey();
      puts.add(key);
    } else if (op.child('request_delete_range')) {
      const end = target.json.range_end === undefined ? undefined : target.bytes('range_end');
      deletes.push([key, end === '' ? undefined : end]);
    }
  }
  for (const key of puts) {
    if (deletes.some(([from, end]) => (end === undefined ? key === from : key >= from && (end === '\0' || key < end)))) throw duplicateKey();
  }
}
