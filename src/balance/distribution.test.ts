import { describe, expect, it } from 'vitest';
import { Balancer } from './balancer.js';
import { CHI2_DF2_P001, chiSquare, instance, mulberry32, tally } from '../testing/internal/balance.js';
import { poolFor } from './pool.js';
import { SmoothRoundRobin } from './round-robin.js';
import type { StrategyName } from './types.js';

const SHARES = [0.5, 0.3, 0.2];
const PICKS = 20_000;
const list = [instance('a', { weight: 5 }), instance('b', { weight: 3 }), instance('c', { weight: 2 })];

function* picks(strategy: StrategyName, seed: number) {
  const balancer = new Balancer({ strategy, random: mulberry32(seed) });
  for (let i = 0; i < PICKS; i++) {
    const picked = balancer.pick(list, { hashKey: `client-${i}` });
    if (picked !== undefined) balancer.begin(picked).end('success');
    yield picked;
  }
}

describe('distribution by weight', () => {
  it('the chi-square test has teeth: an even split fails against 5/3/2', () => {
    const even = Math.round(PICKS / 3);
    expect(chiSquare([even, even, even], SHARES)).toBeGreaterThan(CHI2_DF2_P001);
    expect(chiSquare([10_000, 6_000, 4_000], SHARES)).toBe(0);
    // A milder skew: 52/29/19 instead of 50/30/20.
    expect(chiSquare([10_400, 5_800, 3_800], SHARES)).toBeGreaterThan(CHI2_DF2_P001);
  });

  it.each(['weighted-random', 'round-robin', 'least-request', 'hash'] as const)('%s splits 20,000 picks 5/3/2 (p = 0.001)', (strategy) => {
    for (const seed of [1, 2, 3]) {
      expect(chiSquare(tally(list, picks(strategy, seed)), SHARES)).toBeLessThan(CHI2_DF2_P001);
    }
  });

  it('hash without a key picks at random by weight', () => {
    const balancer = new Balancer({ strategy: 'hash', random: mulberry32(9) });
    const counts = tally(list, Array.from({ length: PICKS }, () => balancer.pick(list)));
    expect(chiSquare(counts, SHARES)).toBeLessThan(CHI2_DF2_P001);
  });

  it('keeps the weights among the rest when most instances are excluded (the scan after rejection gives up)', () => {
    // 97 heavy instances tried already: alias draws almost always hit them, so picks come from the scan.
    const tried = Array.from({ length: 97 }, (_, i) => instance(`tried-${i}`, { weight: 1_000 }));
    const all = [...tried, ...list];
    const balancer = new Balancer({ random: mulberry32(5) });
    const exclude = new Set(tried);
    const counts = tally(list, Array.from({ length: PICKS }, () => balancer.pick(all, { exclude })));
    expect(chiSquare(counts, SHARES)).toBeLessThan(CHI2_DF2_P001);
  });

  it('fractional weights are honoured', () => {
    const fractional = [instance('x', { weight: 0.5 }), instance('y', { weight: 0.3 }), instance('z', { weight: 0.2 })];
    const balancer = new Balancer({ random: mulberry32(4) });
    const counts = tally(fractional, Array.from({ length: PICKS }, () => balancer.pick(fractional)));
    expect(chiSquare(counts, SHARES)).toBeLessThan(CHI2_DF2_P001);
  });
});

describe('round-robin', () => {
  const abc = [instance('a', { weight: 5 }), instance('b', { weight: 1 }), instance('c', { weight: 1 })];
  const ids = (picked: readonly ({ id: string } | undefined)[]) => picked.map((p) => p?.id).join('');

  it("from a zero start, gives nginx's smooth sequence a a b a c a a", () => {
    const round = new SmoothRoundRobin(poolFor(abc).candidates(undefined, undefined).preferred);
    expect(ids(Array.from({ length: 14 }, () => round.next(undefined)))).toBe('aabacaa'.repeat(2));
  });

  it('is smooth and exact from any random start', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const balancer = new Balancer({ strategy: 'round-robin', random: mulberry32(seed) });
      const sequence = ids(Array.from({ length: 700 }, () => balancer.pick(abc)));
      expect(Math.max(...sequence.split(/[bc]/).map((run) => run.length))).toBeLessThanOrEqual(4);
      for (const [id, share] of [['a', 500], ['b', 100], ['c', 100]] as const) {
        expect(Math.abs(sequence.split(id).length - 1 - share)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('starts at different instances for different seeds, spread by weight', () => {
    const firsts = Array.from({ length: 300 }, (_, seed) => new Balancer({ strategy: 'round-robin', random: mulberry32(seed) }).pick(abc)?.id);
    const count = (id: string) => firsts.filter((first) => first === id).length;
    expect(count('b')).toBeGreaterThan(15);
    expect(count('c')).toBeGreaterThan(15);
    expect(count('a')).toBeGreaterThan(count('b') + count('c'));
  });

  it('rotates equal weights from a random place instead of always from the first', () => {
    const equal = Array.from({ length: 10 }, (_, i) => instance(`e${i}`));
    const firsts = new Set(Array.from({ length: 50 }, (_, seed) => new Balancer({ strategy: 'round-robin', random: mulberry32(seed) }).pick(equal)?.id));
    expect(firsts.size).toBeGreaterThan(5);
    const balancer = new Balancer({ strategy: 'round-robin', random: mulberry32(7) });
    expect(new Set(Array.from({ length: 10 }, () => balancer.pick(equal)?.id)).size).toBe(10);
  });
});

describe('least-request', () => {
  it('sends clearly fewer picks to an instance with many attempts in flight', () => {
    const even = [instance('busy'), instance('idle1'), instance('idle2')];
    const balancer = new Balancer({ strategy: 'least-request', random: mulberry32(5) });
    const held = Array.from({ length: 50 }, () => balancer.begin(even[0]!));
    const picks = Array.from({ length: 3_000 }, () => {
      const picked = balancer.pick(even);
      if (picked !== undefined) balancer.begin(picked).end('success');
      return picked;
    });
    const [busy, idle1, idle2] = tally(even, picks);
    // Alone, it would get a third (1,000); it wins only when drawn twice: 1/9.
    expect(busy).toBeLessThan(450);
    expect(idle1).toBeGreaterThan(1_000);
    expect(idle2).toBeGreaterThan(1_000);
    for (const attempt of held) attempt.end('success');
    const after = tally(even, Array.from({ length: 3_000 }, () => balancer.pick(even)));
    expect(after[0]).toBeGreaterThan(850);
  });
});
