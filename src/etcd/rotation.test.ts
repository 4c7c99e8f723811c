import { describe, expect, it } from 'vitest';
import { Rotation } from './rotation.js';

describe('Rotation', () => {
  it('starts where random points, keeps to the member that answered, and tries members set aside last until their time is up', () => {
    const clock = { now: 0 };
    const rotation = new Rotation(3, { cooldownMs: 1_000, now: () => clock.now, random: () => 0.5 });
    expect(rotation.order()).toEqual([1, 2, 0]);
    rotation.setAside(1);
    expect(rotation.order()).toEqual([2, 0, 1]);
    expect(rotation.asideCount).toBe(1);
    rotation.answered(0);
    expect(rotation.order()).toEqual([0, 2, 1]);
    clock.now = 1_000;
    expect(rotation.order()).toEqual([0, 1, 2]);
    expect(rotation.asideCount).toBe(0);
  });

  it('sets aside for the longer of the cooldown and the time asked, never shortening one already set', () => {
    const clock = { now: 0 };
    const rotation = new Rotation(2, { cooldownMs: 1_000, now: () => clock.now, random: () => 0 });
    rotation.setAside(0, 100);
    clock.now = 999;
    expect(rotation.order()).toEqual([1, 0]);
    rotation.setAside(1, 5_000);
    rotation.setAside(1);
    clock.now = 5_998;
    expect(rotation.asideCount).toBe(1);
    rotation.answered(1);
    expect(rotation.asideCount).toBe(0);
  });

  it('tries a single member twice', () => {
    const rotation = new Rotation(1, { cooldownMs: 1_000 });
    expect(rotation.order()).toEqual([0, 0]);
    rotation.setAside(0);
    expect(rotation.order()).toEqual([0, 0]);
  });
});
