import { describe, expect, it } from 'vitest';
import type { Instance } from '../registry/index.js';
import { Balancer } from './balancer.js';
import { instance, mulberry32 } from '../testing/internal/balance.js';
import type { BalancerOptions } from './types.js';

const BASE = 30_000;

function setup(list: readonly Instance[], options: BalancerOptions = {}) {
  const clock = { now: 1_000_000 };
  const ejected: [string, number][] = [];
  const balancer = new Balancer({
    random: mulberry32(21),
    now: () => clock.now,
    onEject: (i, until) => ejected.push([i.id, until]),
    ...options,
  });
  balancer.pick(list);
  const fail = (target: Instance, times = 5) => {
    for (let i = 0; i < times; i++) balancer.begin(target).end('failure');
  };
  const picked = (times = 200) => new Set(Array.from({ length: times }, () => balancer.pick(list)?.id));
  return { clock, ejected, balancer, fail, picked };
}

const four = ['a', 'b', 'c', 'd'].map((id) => instance(id));
const [a, b, c, d] = four as [Instance, Instance, Instance, Instance];

describe('passive outlier ejection', () => {
  it('ejects after 5 failures in a row for the base time, then takes the instance back', () => {
    const { clock, ejected, balancer, fail, picked } = setup(four);
    fail(a, 4);
    expect(picked()).toContain('a');
    fail(a, 1);
    expect(ejected).toEqual([['a', clock.now + BASE]]);
    expect(picked()).not.toContain('a');
    expect(balancer.state(four)).toEqual([{ key: a.key, url: a.url, consecutiveFailures: 0, ejections: 1, ejectedUntil: clock.now + BASE, inFlight: 0 }]);
    clock.now += BASE - 1;
    expect(picked()).not.toContain('a');
    clock.now += 1;
    expect(picked()).toContain('a');
  });

  it('ejects for twice as long the second time, and no longer than the cap', () => {
    const { clock, ejected, fail } = setup(four, { ejection: { maxEjectionMs: 100_000 } });
    const durations: number[] = [];
    for (let round = 0; round < 4; round++) {
      fail(a);
      const [, until] = ejected.at(-1)!;
      durations.push(until - clock.now);
      clock.now = until + 1_000;
    }
    expect(durations).toEqual([BASE, 2 * BASE, 100_000, 100_000]);
  });

  it('forgets past ejections after a clean spell, not after a failure within it', () => {
    const { clock, ejected, fail } = setup(four);
    const lastDuration = () => ejected.at(-1)![1] - clock.now;
    fail(a);
    clock.now += BASE + BASE - 1;
    fail(a);
    expect(lastDuration()).toBe(2 * BASE);
    clock.now += 2 * BASE + BASE;
    fail(a);
    expect(lastDuration()).toBe(BASE);
  });

  it('a success resets the count of failures in a row; neutral outcomes do not', () => {
    const { ejected, balancer, fail } = setup(four);
    fail(a, 4);
    balancer.begin(a).end('success');
    fail(a, 4);
    expect(ejected).toEqual([]);
    balancer.begin(a).end('neutral');
    fail(a, 1);
    expect(ejected.map(([id]) => id)).toEqual(['a']);
  });

  it('never ejects more than half of the instances; ejects the next one once a slot frees', () => {
    const { clock, ejected, fail, picked } = setup(four);
    for (const target of four) fail(target, 10);
    expect(ejected.map(([id]) => id)).toEqual(['a', 'b']);
    expect(picked()).toEqual(new Set(['c', 'd']));
    clock.now += BASE;
    fail(c, 1);
    expect(ejected.map(([id]) => id)).toEqual(['a', 'b', 'c']);
  });

  it('never ejects the only instance, and at most one of two', () => {
    const solo = [instance('solo')];
    const one = setup(solo);
    one.fail(solo[0]!, 50);
    expect(one.ejected).toEqual([]);
    expect(one.balancer.pick(solo)).toBe(solo[0]);

    const pair = [instance('p'), instance('q')];
    const two = setup(pair);
    two.fail(pair[0]!, 10);
    two.fail(pair[1]!, 10);
    expect(two.ejected.map(([id]) => id)).toEqual(['p']);
  });

  it('falls back to ejected instances (panic) when nothing else is left, exclusions still apply', () => {
    const pair = [instance('p'), instance('q')];
    const { balancer, fail } = setup(pair, { ejection: { maxEjectedPercent: 100 } });
    fail(pair[0]!);
    fail(pair[1]!);
    expect(balancer.state(pair).every((s) => s.ejectedUntil !== undefined)).toBe(true);
    expect(balancer.pick(pair)).toBeDefined();
    expect(balancer.pick(pair, { exclude: new Set([pair[0]!]) })).toBe(pair[1]);
    expect(balancer.pick(pair, { exclude: new Set(pair) })).toBeUndefined();
  });

  it('prefers a healthy instance in another zone to an ejected one in its own', () => {
    const eu = instance('eu', { tags: { zone: 'eu' } });
    const us = instance('us', { tags: { zone: 'us' } });
    const { balancer, fail } = setup([eu, us]);
    fail(eu);
    expect(balancer.pick([eu, us], { zone: 'eu' })).toBe(us);
  });

  it('drops the state of instances that leave the list, and of a key whose URL changed', () => {
    const { balancer, fail } = setup(four);
    fail(a);
    fail(b, 2);
    expect(balancer.state(four).map((s) => s.key)).toEqual([a.key, b.key]);
    const moved = instance('b', { url: 'http://elsewhere:8080' });
    const next = [moved, c, d];
    balancer.pick(next);
    expect(balancer.state(four)).toEqual([]);
    expect(balancer.state(next)).toEqual([]);
    balancer.pick(four);
    expect(balancer.state(four)).toEqual([]);
  });

  it('forgets a clean record, and the services seen longest ago beyond 1,024', () => {
    const { balancer, fail } = setup(four);
    fail(a, 2);
    balancer.begin(a).end('success');
    expect(balancer.state(four)).toEqual([]);
    fail(b, 2);
    expect(balancer.state(four).map((s) => s.key)).toEqual([b.key]);
    // Made-up or departed services must not keep state for ever: 1,024 others push this one out.
    for (let i = 0; i < 1_024; i++) balancer.pick([instance('x', { service: `other-${i}` })]);
    expect(balancer.state(four)).toEqual([]);
  });

  it('counts attempts in flight until they end, once each', () => {
    const { balancer } = setup(four);
    const first = balancer.begin(c);
    const second = balancer.begin(c);
    expect(balancer.state(four)).toEqual([{ key: c.key, url: c.url, consecutiveFailures: 0, ejections: 0, inFlight: 2 }]);
    first.end('failure');
    first.end('failure');
    expect(balancer.state(four)[0]).toMatchObject({ inFlight: 1, consecutiveFailures: 1 });
    second.end('success');
    expect(balancer.state(four)).toEqual([]);
  });

  it('keeps the state of each Balancer and each service apart', () => {
    const other = instance('a', { service: 'other' });
    const { balancer, fail } = setup(four);
    balancer.pick([other]);
    fail(a);
    expect(balancer.state([other])).toEqual([]);
    expect(new Balancer().state(four)).toEqual([]);
  });
});
