import { describe, expect, it } from 'vitest';
import { assertServiceName, isServiceName } from './service-name.js';

describe('service names', () => {
  it('accepts names of A-Z a-z 0-9 . _ -', () => {
    for (const name of ['orders', 'a', 'orders.v2', 'my_svc-1', '...', 'x'.repeat(128)]) expect(isServiceName(name)).toBe(true);
  });

  it('rejects empty, long, dot segments, slashes and other characters', () => {
    for (const name of ['', '.', '..', 'x'.repeat(129), 'a/b', 'a%2fb', 'a b', 'ä', 'a\u0000', '../admin']) {
      expect(isServiceName(name)).toBe(false);
    }
    expect(() => assertServiceName('a/b')).toThrow(expect.objectContaining({ code: 'INVALID_SERVICE' }));
  });
});
