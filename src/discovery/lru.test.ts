import { describe, expect, it } from 'vitest';
import { Lru } from './lru.js';

describe('Lru', () => {
  it('drops the least recently used, counting repeated gets of the newest key', () => {
    const dropped: string[] = [];
    const lru = new Lru<string, number>(2, (key) => dropped.push(key));
    lru.set('a', 1);
    lru.set('b', 2);
    lru.get('a');
    lru.get('a');
    lru.set('c', 3);
    expect(dropped).toEqual(['b']);
    lru.get('c');
    lru.get('a');
    lru.set('d', 4);
    expect(dropped).toEqual(['b', 'c']);
    expect([...lru.entries()].map(([key]) => key)).toEqual(['a', 'd']);
  });

  it('moves a key again after the newest one was deleted', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.delete('b');
    lru.set('c', 3);
    lru.get('a');
    lru.set('d', 4);
    expect([...lru.entries()].map(([key]) => key)).toEqual(['a', 'd']);
  });
});
