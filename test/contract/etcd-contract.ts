import { describe, expect, it } from 'vitest';
import {
  compare,
  EtcdCompactedError,
  EtcdError,
  EtcdLeaseNotFoundError,
  op,
  toBytes,
  utf8,
  type WatchBatch,
} from '../../src/index.js';
import { collect, uniquePrefix, type ContractBackend } from './backend.js';

const text = (bytes: Uint8Array): string => utf8(bytes);
const events = (batches: WatchBatch[]) => batches.flatMap((b) => b.events);

/**
 * The behaviour of etcd's JSON gateway that etcd-edge relies on. The same
 * body runs against the fake and a real etcd, so the fake cannot drift.
 */
export function etcdContract(backend: () => ContractBackend): void {
  describe('kv', () => {
    it('puts and reads one key with its revisions and version', async () => {
      const etcd = backend().client();
      const key = `${uniquePrefix('put')}k`;
      const first = await etcd.put(key, 'v1');
      await etcd.put(key, 'v2');
      const { kvs, count, header } = await etcd.range(key);
      expect(count).toBe(1);
      expect(text(kvs[0]!.key)).toBe(key);
      expect(text(kvs[0]!.value)).toBe('v2');
      expect(kvs[0]!.createRevision).toBe(first.header.revision);
      expect(kvs[0]!.modRevision).toBe(header.revision);
      expect(kvs[0]!.version).toBe(2);
      expect(kvs[0]!.lease).toBe('0');
    });

    it('reads a prefix in key order without its neighbours', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('prefix');
      for (const k of ['b', 'a', 'c']) await etcd.put(`${p}svc/${k}`, k);
      await etcd.put(`${p}svc0`, 'neighbour');
      await etcd.put(`${p}sv`, 'shorter');
      const { kvs, count } = await etcd.range({ prefix: `${p}svc/` });
      expect(kvs.map((kv) => text(kv.key))).toEqual([`${p}svc/a`, `${p}svc/b`, `${p}svc/c`]);
      expect(count).toBe(3);
    });

    it('reads an explicit [key, rangeEnd) range', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('rangeend');
      for (const k of ['a', 'b', 'c', 'd']) await etcd.put(`${p}${k}`, k);
      const { kvs } = await etcd.range({ key: `${p}b`, rangeEnd: `${p}d` });
      expect(kvs.map((kv) => text(kv.value))).toEqual(['b', 'c']);
    });

    it('limits, counts and pages through a large prefix at one revision', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('pages');
      await Promise.all(Array.from({ length: 23 }, (_, i) => etcd.put(`${p}${String(i).padStart(3, '0')}`, `v${i}`)));
      const limited = await etcd.range({ prefix: p }, { limit: 5 });
      expect(limited.kvs).toHaveLength(5);
      expect(limited.more).toBe(true);
      expect(limited.count).toBe(23);

      const pinned = limited.header.revision;
      await etcd.put(`${p}999`, 'later');
      const all = await etcd.range({ prefix: p }, { pageSize: 4, revision: pinned });
      expect(all.kvs.map((kv) => text(kv.value))).toEqual(Array.from({ length: 23 }, (_, i) => `v${i}`));
      expect(all.more).toBe(false);
      const now = await etcd.range({ prefix: p }, { pageSize: 7 });
      expect(now.kvs).toHaveLength(24);
    });

    it('returns keys only, or only a count', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('keysonly');
      await etcd.put(`${p}a`, 'value-a');
      await etcd.put(`${p}b`, 'value-b');
      const keys = await etcd.range({ prefix: p }, { keysOnly: true });
      expect(keys.kvs.map((kv) => text(kv.key))).toEqual([`${p}a`, `${p}b`]);
      expect(keys.kvs.every((kv) => kv.value.length === 0)).toBe(true);
      const counted = await etcd.range({ prefix: p }, { countOnly: true });
      expect(counted.kvs).toEqual([]);
      expect(counted.count).toBe(2);
    });

    it('reads an earlier revision, serializable reads, and refuses a future revision', async () => {
      const etcd = backend().client();
      const key = `${uniquePrefix('rev')}k`;
      const old = await etcd.put(key, 'old');
      await etcd.put(key, 'new');
      const then = await etcd.range(key, { revision: old.header.revision });
      expect(text(then.kvs[0]!.value)).toBe('old');
      const local = await etcd.range(key, { serializable: true });
      expect(text(local.kvs[0]!.value)).toBe('new');
      const error = await etcd.range(key, { revision: old.header.revision + 1_000_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EtcdError);
      expect((error as EtcdError).code).toBe('ETCD_REVISION_OUT_OF_RANGE');
      expect((error as EtcdError).retryable).toBe(false);
    });

    it('returns the previous pair on put and delete, and deletes a prefix', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('prev');
      const none = await etcd.put(`${p}a`, '1', { prevKv: true });
      expect(none.prevKv).toBeUndefined();
      const replaced = await etcd.put(`${p}a`, '2', { prevKv: true });
      expect(text(replaced.prevKv!.value)).toBe('1');
      await etcd.put(`${p}b`, '3');
      const one = await etcd.delete(`${p}a`, { prevKv: true });
      expect(one.deleted).toBe(1);
      expect(text(one.prevKvs[0]!.value)).toBe('2');
      const rest = await etcd.delete({ prefix: p });
      expect(rest.deleted).toBe(1);
      expect((await etcd.range({ prefix: p })).count).toBe(0);
      expect((await etcd.delete(`${p}gone`)).deleted).toBe(0);
    });

    it('keeps keys and values that are not UTF-8, and prefixes ending in 0xff', async () => {
      const etcd = backend().client();
      const p = toBytes(uniquePrefix('bytes'));
      const withTail = (...tail: number[]) => new Uint8Array([...p, ...tail]);
      const value = new Uint8Array([0, 0xff, 0xfe, 10, 13]);
      await etcd.put(withTail(0xff, 0xff, 1), value);
      await etcd.put(withTail(0xff, 0xff, 2), value);
      await etcd.put(withTail(0xff, 0xfe), value);
      const { kvs } = await etcd.range({ prefix: withTail(0xff, 0xff) });
      expect(kvs.map((kv) => [...kv.key.slice(p.length)])).toEqual([[0xff, 0xff, 1], [0xff, 0xff, 2]]);
      expect([...kvs[0]!.value]).toEqual([...value]);
    });
  });

  describe('txn', () => {
    it('creates a key only when absent', async () => {
      const etcd = backend().client();
      const key = `${uniquePrefix('txn')}k`;
      const absent = [compare.createRevision(key, '=', 0)];
      const first = await etcd.txn({ compare: absent, success: [op.put(key, 'mine')], failure: [op.range(key)] });
      expect(first.succeeded).toBe(true);
      expect(first.responses).toEqual([{ type: 'put' }]);
      const second = await etcd.txn({ compare: absent, success: [op.put(key, 'theirs')], failure: [op.range(key)] });
      expect(second.succeeded).toBe(false);
      const seen = second.responses[0]!;
      expect(seen.type === 'range' && text(seen.kvs[0]!.value)).toBe('mine');
    });

    it('compares value, version, mod revision and lease, and deletes in a txn', async () => {
      const etcd = backend().client();
      const key = `${uniquePrefix('txncmp')}k`;
      const { header } = await etcd.put(key, 'x');
      const ok = await etcd.txn({
        compare: [
          compare.value(key, '=', 'x'),
          compare.version(key, '>', 0),
          compare.modRevision(key, '=', header.revision),
          compare.lease(key, '=', '0'),
        ],
        success: [op.delete(key, { prevKv: true })],
      });
      expect(ok.succeeded).toBe(true);
      const deleted = ok.responses[0]!;
      expect(deleted.type === 'delete' && deleted.deleted).toBe(1);
      const failed = await etcd.txn({ compare: [compare.value(key, '=', 'x')], success: [op.put(key, 'y')] });
      expect(failed.succeeded).toBe(false);
      expect(failed.responses).toEqual([]);
    });
  });

  describe('txn semantics', () => {
    it('reads its own writes', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('txnread');
      const r = await etcd.txn({ success: [op.put(`${p}a`, '1'), op.range({ prefix: p })] });
      const read = r.responses[1]!;
      expect(read.type === 'range' && read.kvs.map((kv) => text(kv.value))).toEqual(['1']);
    });

    it('applies nothing when one operation is refused', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('txnatomic');
      const before = (await etcd.range('any')).header.revision;
      const error = await etcd
        .txn({ success: [op.put(`${p}b`, '2'), op.put(`${p}missing`, '', { ignoreValue: true })] })
        .catch((e: unknown) => e);
      expect((error as EtcdError).code).toBe('ETCD_INVALID_ARGUMENT');
      expect((await etcd.range({ prefix: p })).count).toBe(0);
      expect((await etcd.range('any')).header.revision).toBe(before);
    });

    it('applies nothing when a read in it fails after a write', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('txnread-fails');
      const first = await etcd.put(`${p}a`, '1');
      const second = await etcd.put(`${p}a`, '2');
      await etcd.compact(second.header.revision);
      const error = await etcd
        .txn({ success: [op.put(`${p}b`, '3'), op.range(`${p}a`, { revision: first.header.revision })] })
        .catch((e: unknown) => e);
      expect((error as EtcdError).code).toBe('ETCD_REVISION_OUT_OF_RANGE');
      expect((await etcd.range(`${p}b`)).count).toBe(0);
      expect((await etcd.range('any')).header.revision).toBe(second.header.revision);
    });

    it('refuses the same key twice, or a put inside a deleted range, in either branch', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('txndup');
      for (const ops of [
        [op.put(`${p}a`, '1'), op.put(`${p}a`, '2')],
        [op.put(`${p}a`, '1'), op.delete({ prefix: p })],
      ]) {
        const taken = await etcd.txn({ success: ops }).catch((e: unknown) => e);
        expect((taken as EtcdError).code).toBe('ETCD_INVALID_ARGUMENT');
        const notTaken = await etcd.txn({ success: [], failure: ops }).catch((e: unknown) => e);
        expect((notTaken as EtcdError).code).toBe('ETCD_INVALID_ARGUMENT');
      }
    });

    it('compares an empty range as one absent key', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('txnempty');
      const none = await etcd.txn({ compare: [compare.version({ prefix: p }, '>', 0)] });
      expect(none.succeeded).toBe(false);
      const absent = await etcd.txn({ compare: [compare.createRevision({ prefix: p }, '=', 0)] });
      expect(absent.succeeded).toBe(true);
    });

    it('refuses ignoreLease together with a lease', async () => {
      const etcd = backend().client();
      const key = `${uniquePrefix('ignorelease')}k`;
      await etcd.put(key, 'v');
      const { id } = await etcd.leaseGrant(30);
      const error = await etcd.put(key, 'w', { lease: id, ignoreLease: true }).catch((e: unknown) => e);
      expect((error as EtcdError).code).toBe('ETCD_INVALID_ARGUMENT');
      await etcd.leaseRevoke(id);
    });
  });

  describe('lease', () => {
    it('grants, attaches keys, reports time to live and lists leases', async () => {
      const etcd = backend().client();
      const key = `${uniquePrefix('lease')}k`;
      const lease = await etcd.leaseGrant(30);
      expect(lease.id).toMatch(/^[1-9]\d*$/);
      expect(lease.ttl).toBe(30);
      await etcd.put(key, 'v', { lease: lease.id });
      expect((await etcd.range(key)).kvs[0]!.lease).toBe(lease.id);
      const ttl = await etcd.leaseTimeToLive(lease.id, { keys: true });
      expect(ttl.grantedTtl).toBe(30);
      expect(ttl.ttl).toBeGreaterThan(25);
      expect(ttl.keys.map(text)).toEqual([key]);
      expect((await etcd.leaseList()).ids).toContain(lease.id);
      const beat = await etcd.leaseKeepAlive(lease.id);
      expect(beat.ttl).toBe(30);
      await etcd.put(key, 'v2', { ignoreLease: true });
      expect((await etcd.range(key)).kvs[0]!.lease).toBe(lease.id);
      await etcd.leaseRevoke(lease.id);
    });

    it('revoking deletes the keys; a gone lease is a typed error everywhere', async () => {
      const etcd = backend().client();
      const key = `${uniquePrefix('revoke')}k`;
      const { id } = await etcd.leaseGrant(30);
      await etcd.put(key, 'v', { lease: id });
      await etcd.leaseRevoke(id);
      expect((await etcd.range(key)).count).toBe(0);
      for (const call of [
        () => etcd.leaseKeepAlive(id),
        () => etcd.leaseRevoke(id),
        () => etcd.leaseTimeToLive(id),
        () => etcd.put(key, 'v', { lease: id }),
      ]) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(EtcdLeaseNotFoundError);
        expect((error as EtcdLeaseNotFoundError).leaseId).toBe(id);
        expect((error as EtcdError).code).toBe('ETCD_LEASE_NOT_FOUND');
      }
    });

    it('an expired lease deletes its keys, which a watcher sees', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('expire');
      const { id } = await etcd.leaseGrant(1);
      const put = await etcd.put(`${p}k`, 'v', { lease: id });
      const controller = new AbortController();
      const watch = etcd.watch({ prefix: p }, { startRevision: put.header.revision, signal: controller.signal });
      const batches = await collect(watch, controller, (b) => events(b).some((e) => e.type === 'delete'), 8_000);
      expect(events(batches).map((e) => e.type)).toEqual(['put', 'delete']);
      expect((await etcd.range({ prefix: p })).count).toBe(0);
    }, 12_000);
  });

  describe('watch', () => {
    it('delivers history from a start revision, then live changes, with previous values', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('watch');
      const start = await etcd.put(`${p}a`, '1');
      await etcd.put(`${p}a`, '2');
      const controller = new AbortController();
      const watch = etcd.watch({ prefix: p }, { startRevision: start.header.revision, prevKv: true, signal: controller.signal });
      const later = (async () => {
        await new Promise((r) => setTimeout(r, 200));
        await etcd.put(`${p}b`, '3');
        await etcd.delete(`${p}a`);
        await etcd.put(`${uniquePrefix('elsewhere')}x`, 'not mine');
      })();
      const batches = await collect(watch, controller, (b) => events(b).length >= 4);
      await later;
      const seen = events(batches).map((e) => `${e.type} ${text(e.kv.key).slice(p.length)} ${text(e.kv.value)} <${e.prevKv ? text(e.prevKv.value) : ''}>`);
      expect(seen).toEqual(['put a 1 <>', 'put a 2 <1>', 'put b 3 <>', 'delete a  <2>']);
      const revisions = events(batches).map((e) => e.kv.modRevision);
      expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
    });

    it('catches up on long history sent in several batches, then resumes without a gap', async () => {
      const b = backend();
      const etcd = b.client();
      const p = uniquePrefix('history');
      const start = (await etcd.put(`${p}k`, '0')).header.revision;
      for (let i = 1; i < 1_500; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => etcd.put(`${p}k${(i + j) % 7}`, String(i + j))));
      }
      const controller = new AbortController();
      let dropped = false;
      const watch = etcd.watch({ prefix: p }, { startRevision: start, signal: controller.signal, backoff: { initialMs: 20 } });
      const batches = await collect(
        watch,
        controller,
        (bs) => {
          if (!dropped && bs.length === 1) {
            dropped = true;
            b.dropConnections();
          }
          return events(bs).length >= 1_501;
        },
        15_000,
      );
      const revisions = events(batches).map((e) => e.kv.modRevision);
      expect(revisions).toHaveLength(1_501);
      expect(new Set(revisions).size).toBe(1_501);
      expect(revisions[0]).toBe(start);
    }, 30_000);

    it('from a future revision delivers changes from that revision on', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('future');
      const now = (await etcd.put(`${p}k`, '0')).header.revision;
      const controller = new AbortController();
      const watch = etcd.watch({ prefix: p }, { startRevision: now + 2, signal: controller.signal });
      const later = (async () => {
        await new Promise((r) => setTimeout(r, 200));
        for (const v of ['1', '2', '3']) await etcd.put(`${p}k`, v);
      })();
      const batches = await collect(watch, controller, (b) => events(b).length >= 2);
      await later;
      expect(events(batches).map((e) => text(e.kv.value))).toEqual(['2', '3']);
    });

    it('without a start revision delivers only later changes', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('watchnow');
      await etcd.put(`${p}before`, 'x');
      const controller = new AbortController();
      const watch = etcd.watch({ prefix: p }, { signal: controller.signal });
      const later = (async () => {
        await new Promise((r) => setTimeout(r, 300));
        await etcd.put(`${p}after`, 'y');
      })();
      const batches = await collect(watch, controller, (b) => events(b).length >= 1);
      await later;
      expect(events(batches).map((e) => text(e.kv.key).slice(p.length))).toEqual(['after']);
    });

    it('resumes after a dropped connection without skipping or repeating a revision', async () => {
      const b = backend();
      const etcd = b.client();
      const p = uniquePrefix('resume');
      const start = await etcd.put(`${p}k`, '0');
      const controller = new AbortController();
      const watch = etcd.watch({ prefix: p }, { startRevision: start.header.revision, signal: controller.signal, backoff: { initialMs: 20 } });
      const writer = (async () => {
        for (let i = 1; i <= 6; i++) {
          await new Promise((r) => setTimeout(r, 100));
          if (i === 3 || i === 5) b.dropConnections();
          await b.client().put(`${p}k`, String(i));
        }
      })();
      const batches = await collect(watch, controller, (bs) => events(bs).length >= 7, 10_000);
      await writer;
      expect(events(batches).map((e) => text(e.kv.value))).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    }, 15_000);

    it('ends with a typed compaction error carrying the compact revision', async () => {
      const etcd = backend().client();
      const p = uniquePrefix('compact');
      const first = await etcd.put(`${p}k`, '1');
      const second = await etcd.put(`${p}k`, '2');
      await etcd.compact(second.header.revision);
      const watch = etcd.watch({ prefix: p }, { startRevision: first.header.revision });
      const error = await (async () => {
        for await (const batch of watch) void batch;
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EtcdCompactedError);
      expect((error as EtcdCompactedError).compactRevision).toBe(second.header.revision);
      const old = await etcd.range(`${p}k`, { revision: first.header.revision }).catch((e: unknown) => e);
      expect((old as EtcdError).code).toBe('ETCD_REVISION_OUT_OF_RANGE');
    });

    it('does not miss a delete at the compaction revision when resumed right there', async () => {
      // etcd accepts a watch from a compaction's own revision C, but compacting
      // at C removed the delete at C: a watch resumed at C must end compacted
      // (so the caller reads again) rather than wait for an event that is gone.
      const etcd = backend().client();
      const p = uniquePrefix('compact-edge');
      await etcd.put(`${p}k`, '1');
      const gone = await etcd.delete(`${p}k`);
      await etcd.compact(gone.header.revision);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 3_000);
      const watch = etcd.watch({ prefix: p }, { startRevision: gone.header.revision, signal: controller.signal });
      const outcome = await (async () => {
        for await (const batch of watch) if (batch.events.length > 0) return batch.events.map((e) => e.type);
        return 'nothing before the deadline';
      })().catch((e: unknown) => e);
      clearTimeout(timer);
      expect(outcome).toBeInstanceOf(EtcdCompactedError);
    });

    it('ends quietly when its signal aborts', async () => {
      const etcd = backend().client();
      const controller = new AbortController();
      const watch = etcd.watch({ prefix: uniquePrefix('abort') }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 200);
      const seen: WatchBatch[] = [];
      for await (const batch of watch) seen.push(batch);
      expect(seen).toEqual([]);
    });
  });

  describe('auth', () => {
    it('a wrong password is one clear error that never shows the password', async () => {
      const secret = 'not-the-password-3f9a';
      const etcd = backend().auth.client({ password: secret });
      const error = await etcd.range('x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EtcdError);
      expect((error as EtcdError).code).toBe('ETCD_AUTH_FAILED');
      expect((error as EtcdError).retryable).toBe(false);
      expect(JSON.stringify(describeError(error))).not.toContain(secret);
    });

    it('logs in, and logs in again transparently after the token expires', async () => {
      const auth = backend().auth;
      let logins = 0;
      const etcd = auth.client({
        fetch: (url, init) => {
          if (url.endsWith('/v3/auth/authenticate')) logins += 1;
          return globalThis.fetch(url, init);
        },
      });
      const key = `${uniquePrefix('auth')}k`;
      await etcd.put(key, 'v');
      await auth.expireTokens();
      expect(text((await etcd.range(key)).kvs[0]!.value)).toBe('v');
      expect(logins).toBe(2);
      const controller = new AbortController();
      const { header } = await etcd.put(key, 'w');
      await auth.expireTokens();
      const watch = etcd.watch(key, { startRevision: header.revision, signal: controller.signal });
      const batches = await collect(watch, controller, (b) => events(b).length >= 1);
      expect(events(batches).map((e) => text(e.kv.value))).toEqual(['w']);
      expect(logins).toBe(3);
    }, 15_000);

    it('without credentials the error says authentication is required', async () => {
      const etcd = backend().auth.client({ username: '' });
      const error = await etcd.range('x').catch((e: unknown) => e);
      expect((error as EtcdError).code).toBe('ETCD_UNAUTHENTICATED');
    });
  });
}

/** Everything an error would show in a log: message, code and its causes. */
export function describeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error) || depth > 5) return String(error);
  return { name: error.name, message: error.message, stack: error.stack, cause: describeError(error.cause, depth + 1) };
}
