import { describe, expect, it } from 'vitest';
import type { Instance } from '../registry/index.js';
import { Balancer } from './balancer.js';
import { instance, mulberry32 } from '../testing/internal/balance.js';
import { fmix32, hashString, SEED_HIGH, unitFromPair } from './hash.js';

const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
const ten = Array.from({ length: 10 }, (_, i) => instance(`node${i}`));

function assign(balancer: Balancer, list: readonly Instance[]): Map<string, string> {
  return new Map(KEYS.map((key) => [key, balancer.pick(list, { hashKey: key })!.id]));
}

function moved(before: Map<string, string>, after: Map<string, string>): string[] {
  return KEYS.filter((key) => before.get(key) !== after.get(key));
}

describe('hash strategy (weighted rendezvous)', () => {
  it('gives a key the same instance in every Balancer, whatever their randomness', () => {
    const one = assign(new Balancer({ strategy: 'hash', random: mulberry32(1) }), ten);
    const other = assign(new Balancer({ strategy: 'hash', random: mulberry32(2) }), [...ten].reverse());
    expect(other).toEqual(one);
  });

  it('is pinned to known values, so a change of hash function is noticed (it would remap every key)', () => {
    expect(fmix32(1)).toBe(0x514e28b7);
    expect(hashString('user-0', SEED_HIGH)).not.toBe(hashString('user-1', SEED_HIGH));
    const balancer = new Balancer({ strategy: 'hash' });
    expect(['user-0', 'user-1', 'user-2'].map((hashKey) => balancer.pick(ten, { hashKey })?.id)).toEqual(['node6', 'node4', 'node8']);
  });

  it('keeps u strictly inside (0, 1)', () => {
    for (const [a, b] of [[0, 0], [0xffffffff, 0xffffffff], [0x12345678, 0x9abcdef0]] as const) {
      const u = unitFromPair(a, b, 0, 0);
      expect(u).toBeGreaterThan(0);
      expect(u).toBeLessThan(1);
    }
  });

  it('removing one of 10 instances moves only its keys, about a tenth of them', () => {
    const balancer = new Balancer({ strategy: 'hash' });
    const before = assign(balancer, ten);
    const gone = ten[3]!;
    const after = assign(balancer, ten.filter((i) => i !== gone));
    const changed = moved(before, after);
    expect(changed.every((key) => before.get(key) === gone.id)).toBe(true);
    expect(changed.length).toBe(KEYS.filter((key) => before.get(key) === gone.id).length);
    expect(changed.length).toBeGreaterThan(500);
    expect(changed.length).toBeLessThan(1_500);
  });

  it('adding an 11th instance moves about 1/11 of the keys, all to it', () => {
    const balancer = new Balancer({ strategy: 'hash' });
    const before = assign(balancer, ten);
    const after = assign(balancer, [...ten, instance('node10')]);
    const changed = moved(before, after);
    expect(changed.every((key) => after.get(key) === 'node10')).toBe(true);
    expect(changed.length).toBeGreaterThan(10_000 / 11 - 300);
    expect(changed.length).toBeLessThan(10_000 / 11 + 300);
  });

  it('a tried instance sends the key to its runner-up, the same one everywhere', () => {
    const balancer = new Balancer({ strategy: 'hash' });
    const first = balancer.pick(ten, { hashKey: 'user-42' })!;
    const second = balancer.pick(ten, { hashKey: 'user-42', exclude: new Set([first]) })!;
    expect(second).not.toBe(first);
    const without = ten.filter((i) => i !== first);
    expect(new Balancer({ strategy: 'hash' }).pick(without, { hashKey: 'user-42' })).toBe(second);
  });
});
