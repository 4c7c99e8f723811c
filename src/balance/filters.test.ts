import { describe, expect, it } from 'vitest';
import { Balancer } from './balancer.js';
import { instance, mulberry32 } from '../testing/internal/balance.js';
import { MAX_FILTERS, poolFor } from './pool.js';
import { STRATEGY_NAMES } from './types.js';

const v1 = instance('v1', { tags: { version: 'v1', zone: 'eu' } });
const v2eu = instance('v2eu', { tags: { version: 'v2', zone: 'eu' } });
const v2us = instance('v2us', { tags: { version: 'v2', zone: 'us' } });
const drained = instance('drained', { weight: 0, tags: { version: 'v2', zone: 'eu' } });
const list = [v1, v2eu, v2us, drained];

function pickMany(balancer: Balancer, request: Parameters<Balancer['pick']>[1], times = 300): Set<string | undefined> {
  return new Set(Array.from({ length: times }, () => balancer.pick(list, request)?.id));
}

describe.each(STRATEGY_NAMES)('filters with %s', (strategy) => {
  const balancer = () => new Balancer({ strategy, random: mulberry32(11) });
  const hashKeys = (i: number) => (strategy === 'hash' ? { hashKey: `k${i}` } : {});

  it('never picks a weight-0 instance', () => {
    const b = balancer();
    const seen = new Set(Array.from({ length: 500 }, (_, i) => b.pick(list, hashKeys(i))?.id));
    expect(seen).toEqual(new Set(['v1', 'v2eu', 'v2us']));
    expect(b.pick([drained])).toBeUndefined();
  });

  it('keeps only instances carrying every requested tag', () => {
    const b = balancer();
    const seen = new Set(Array.from({ length: 300 }, (_, i) => b.pick(list, { tags: { version: 'v2' }, ...hashKeys(i) })?.id));
    expect(seen).toEqual(new Set(['v2eu', 'v2us']));
    expect(b.pick(list, { tags: { version: 'v2', zone: 'us' } })).toBe(v2us);
    expect(b.pick(list, { tags: { version: 'v3' } })).toBeUndefined();
    expect(b.pick(list, { tags: { constructor: 'x' } })).toBeUndefined();
  });

  it('prefers the zone and falls back to the others when none there is left', () => {
    const b = balancer();
    expect(pickMany(b, { zone: 'eu', tags: { version: 'v2' } })).toEqual(new Set(['v2eu']));
    expect(b.pick(list, { zone: 'eu', tags: { version: 'v2' }, exclude: new Set([v2eu]) })).toBe(v2us);
    expect(pickMany(b, { zone: 'ap' })).toEqual(new Set(['v1', 'v2eu', 'v2us']));
  });

  it('respects exclusions and answers undefined when nothing is left', () => {
    const b = balancer();
    expect(pickMany(b, { exclude: new Set([v1, v2us]) })).toEqual(new Set(['v2eu']));
    expect(b.pick(list, { exclude: new Set([v1, v2eu, v2us]) })).toBeUndefined();
    expect(b.pick([])).toBeUndefined();
  });
});

describe('options', () => {
  it('refuses an unknown strategy', () => {
    expect(() => new Balancer({ strategy: 'fastest' as never })).toThrow(RangeError);
  });
});

describe('exclusions on a large list', () => {
  it('find the one instance left among thousands', () => {
    const many = Array.from({ length: 2_000 }, (_, i) => instance(`n${i}`, { weight: 1 + (i % 7) }));
    const exclude = new Set(many.slice(0, 1_999));
    const balancer = new Balancer({ random: mulberry32(3) });
    expect(balancer.pick(many, { exclude })).toBe(many[1_999]);
  });
});

describe('per-list cache', () => {
  it('builds a pool once per array object and reuses it', () => {
    const big = Array.from({ length: 10_000 }, (_, i) => instance(`n${i}`, { tags: { zone: i % 2 ? 'eu' : 'us' } }));
    const pool = poolFor(big);
    const balancer = new Balancer({ random: mulberry32(1) });
    for (let i = 0; i < 1_000; i++) balancer.pick(big, { zone: 'eu' });
    expect(poolFor(big)).toBe(pool);
    expect(pool.candidates(undefined, 'eu')).toBe(pool.candidates(undefined, 'eu'));
    expect(pool.cachedFilters).toBe(1);
    expect(poolFor([...big])).not.toBe(pool);
  });

  it('lets a zone change nothing where no instance is tagged with one: no filter built, the same candidates', () => {
    const plain = Array.from({ length: 10 }, (_, i) => instance(`n${i}`));
    const pool = poolFor(plain);
    expect(pool.candidates(undefined, 'eu')).toBe(pool.candidates(undefined, undefined));
    expect(pool.cachedFilters).toBe(0);
    const zoned = [...plain, instance('z', { tags: { zone: 'eu' } })];
    expect(poolFor(zoned).candidates(undefined, 'eu').preferred.instances).toEqual([zoned[10]]);
  });

  it('remembers a bounded number of filters, so hostile tag headers cannot grow memory', () => {
    const balancer = new Balancer();
    for (let i = 0; i < MAX_FILTERS * 3; i++) balancer.pick(list, { tags: { junk: `${i}` } });
    expect(poolFor(list).cachedFilters).toBe(MAX_FILTERS);
    expect(balancer.pick(list, { tags: { version: 'v1' } })).toBe(v1);
  });
});
