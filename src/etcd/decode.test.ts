import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EtcdClient } from './client.js';
import { EtcdError } from './errors.js';
import type { FetchLike } from './transport.js';
import { decodeWatchLine } from './watch-wire.js';

/** Bodies a broken etcd, proxy or middlebox might send. */
const body = fc.oneof(
  fc.string(),
  fc.json(),
  fc.anything().map((v) => JSON.stringify(v) ?? 'undefined'),
  fc
    .record({
      header: fc.record({ revision: fc.oneof(fc.string(), fc.integer(), fc.constant('9007199254740993')) }, { requiredKeys: [] }),
      kvs: fc.array(fc.dictionary(fc.constantFrom('key', 'value', 'mod_revision', 'lease', 'version'), fc.oneof(fc.string(), fc.integer(), fc.constant(null)))),
      count: fc.oneof(fc.string(), fc.integer()),
      ID: fc.oneof(fc.string(), fc.integer(), fc.boolean()),
      TTL: fc.oneof(fc.string(), fc.integer()),
      result: fc.anything(),
      code: fc.oneof(fc.integer(), fc.string()),
      responses: fc.anything(),
    }, { requiredKeys: [] })
    .map((v) => JSON.stringify(v)),
);

const calls: ((etcd: EtcdClient) => Promise<unknown>)[] = [
  (etcd) => etcd.range({ prefix: 'a/' }),
  (etcd) => etcd.put('k', 'v', { prevKv: true }),
  (etcd) => etcd.delete('k', { prevKv: true }),
  (etcd) => etcd.txn({}),
  (etcd) => etcd.leaseGrant(5),
  (etcd) => etcd.leaseKeepAlive('7'),
  (etcd) => etcd.leaseTimeToLive('7', { keys: true }),
  (etcd) => etcd.leaseList(),
];

describe('response decoding', () => {
  it('arbitrary bodies and statuses give a result or a typed error, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(200, 200, 400, 401, 404, 500, 502, 503), fc.nat(calls.length - 1), async (text, status, which) => {
        const fetch: FetchLike = async () => new Response(text, { status });
        const etcd = new EtcdClient({ endpoints: ['http://etcd:2379'], fetch });
        try {
          await calls[which]!(etcd);
        } catch (error) {
          expect(error).toBeInstanceOf(EtcdError);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('arbitrary watch lines decode or throw a typed error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), body, fc.anything().map((v) => JSON.stringify({ result: v }) ?? '')), (line) => {
        try {
          const message = decodeWatchLine(line);
          expect(['created', 'events', 'progress', 'canceled']).toContain(message.kind);
        } catch (error) {
          expect(error).toBeInstanceOf(EtcdError);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('a truncated body is an error of the endpoint, not a crash', async () => {
    const fetch: FetchLike = async () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"header":{"revision":"3"},"kvs":[{"key":'));
            controller.error(new TypeError('terminated'));
          },
        }),
      );
    const error = await new EtcdClient({ endpoints: ['http://etcd:2379'], fetch }).range('k').catch((e: unknown) => e);
    expect((error as EtcdError).code).toBe('ETCD_UNAVAILABLE');
  });
});
