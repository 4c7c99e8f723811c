import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRecord } from './decode.js';
import { LAYOUT_NAMES, layoutByName } from './layouts.js';
import { parseAddress } from './address.js';

const layouts = LAYOUT_NAMES.map((name) => layoutByName(name));
const enc = new TextEncoder();

/** JSON values shaped like registry records, with wrong types mixed in. */
const recordLike = fc.record(
  {
    Op: fc.oneof(fc.constant(0), fc.constant(1), fc.anything()),
    Addr: fc.oneof(fc.string(), fc.webUrl(), fc.ipV4(), fc.ipV6(), fc.anything()),
    Metadata: fc.oneof(fc.anything(), fc.record({ weight: fc.oneof(fc.double(), fc.anything()), tags: fc.anything() }, { requiredKeys: [] })),
    network: fc.oneof(fc.constant('tcp'), fc.string()),
    address: fc.oneof(fc.string(), fc.ipV4(), fc.anything()),
    weight: fc.oneof(fc.double(), fc.integer(), fc.anything()),
    tags: fc.oneof(fc.constant(null), fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.anything()))),
  },
  { requiredKeys: [] },
);

const value = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.string().map((s) => enc.encode(s)),
  fc.jsonValue().map((v) => enc.encode(JSON.stringify(v))),
  recordLike.map((v) => enc.encode(JSON.stringify(v) ?? 'null')),
);

const key = fc.oneof(
  fc.uint8Array({ maxLength: 60 }),
  fc.tuple(fc.constantFrom('services/', 'kitex/registry-etcd/', ''), fc.string(), fc.constantFrom('/', ''), fc.string()).map((parts) => enc.encode(parts.join(''))),
);

describe('codecs under arbitrary input', () => {
  it('decode never throws, and what decodes is a valid instance', () => {
    fc.assert(
      fc.property(key, value, fc.constantFrom('0', '694d7a1b3e2f5c01'), (k, v, lease) => {
        for (const layout of layouts) {
          const decoded = decodeRecord(layout, { key: k, value: v, createRevision: 1, modRevision: 2, version: 1, lease });
          if (decoded?.ok) {
            expect(decoded.instance.url).toMatch(/^https?:\/\/[^/@?#\s]+:\d+$/);
            expect(Number.isFinite(decoded.instance.weight) && decoded.instance.weight >= 0).toBe(true);
            expect(parseAddress(decoded.instance.url)).toMatchObject({ ok: true, address: { url: decoded.instance.url } });
          } else if (decoded) {
            expect(decoded.skipped.reason.length).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('encode either throws a RegistryError or writes what decode reads back', () => {
    fc.assert(
      fc.property(
        fc.record({
          service: fc.oneof(fc.constantFrom('orders', 'a.b-c_d'), fc.string()),
          url: fc.oneof(fc.webUrl(), fc.ipV4().map((ip) => `${ip}:8080`), fc.string()),
          weight: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.double()),
          tags: fc.dictionary(fc.string({ minLength: 1 }), fc.string()),
        }),
        (registration) => {
          for (const layout of layouts) {
            let record;
            try {
              record = layout.encode(registration);
            } catch (error) {
              expect(error).toMatchObject({ name: 'RegistryError' });
              continue;
            }
            const decoded = decodeRecord(layout, { key: enc.encode(record.key), value: enc.encode(record.value), createRevision: 1, modRevision: 1, version: 1, lease: '0' });
            expect(decoded).toMatchObject({ ok: true, instance: { service: registration.service, weight: registration.weight + 0, tags: registration.tags } });
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
