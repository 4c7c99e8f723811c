import { describe, expect, it } from 'vitest';
import { parseTags } from './tags.js';

describe('parseTags', () => {
  it.each([
    ['version=v2', { version: 'v2' }],
    [' version = v2 , canary=true ', { version: 'v2', canary: 'true' }],
    ['k=', { k: '' }],
    ['url=a=b', { url: 'a=b' }],
    ['', {}],
    ['   ', {}],
    ['__proto__=x', { ['__proto__']: 'x' }],
    [Array.from({ length: 16 }, (_, i) => `k${i}=v`).join(','), Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v']))],
  ])('accepts %j', (header, tags) => {
    expect({ ...parseTags(header) }).toEqual(tags);
  });

  it('keeps __proto__ as a tag, not a prototype', () => {
    const tags = parseTags('__proto__=x')!;
    expect(Object.hasOwn(tags, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(tags)).toBeNull();
  });

  it.each([
    ['version'],
    ['=v2'],
    [' =v2'],
    ['a=1,'],
    ['a=1,,b=2'],
    ['a=1,a=2'],
    [Array.from({ length: 17 }, (_, i) => `k${i}=v`).join(',')],
  ])('rejects %j', (header) => {
    expect(parseTags(header)).toBeUndefined();
  });

  it('accepts up to 1,024 characters, no more', () => {
    expect(parseTags(`k=${'x'.repeat(1_022)}`)).toBeDefined();
    expect(parseTags(`k=${'x'.repeat(1_023)}`)).toBeUndefined();
  });
});
