import { describe, expect, it } from 'vitest';
import { printable, printableJson, quoted, safeLine } from './printable.js';

/** Every character a terminal acts on or hides, and none of what it shows. */
const HOSTILE = 'a\u001b[2J\r\nb\t\u0000\u007f\u009b31m\u202eevil\u2066\u200b\u200d\ufeff\u2028\u{e0041}\ud800\\';

describe('printable', () => {
  it('escapes C0, DEL, C1, format characters, separators, lone surrogates and the backslash', () => {
    expect(printable(HOSTILE)).toBe(
      'a\\x1b[2J\\r\\nb\\t\\x00\\x7f\\x9b31m\\u202eevil\\u2066\\u200b\\u200d\\ufeff\\u2028\\u{e0041}\\ud800\\\\',
    );
    expect(printable(HOSTILE)).toMatch(/^[\x20-\x7e]+$/);
  });

  it('leaves what a terminal shows as it is', () => {
    const shown = 'orders/10.0.0.5:8080 zone=fra "v2" é 日本 😀';
    expect(printable(shown)).toBe(shown);
  });

  it('in a message line, escapes the same set but keeps backslashes already there', () => {
    expect(safeLine('no instance matches "a\\nb"\u001b]0;owned\u0007')).toBe('no instance matches "a\\nb"\\x1b]0;owned\\x07');
  });

  it('quotes, escaping the quote', () => {
    expect(quoted('a"b\nc')).toBe('"a\\"b\\nc"');
  });

  it('keeps JSON decodable to the same value while nothing raw reaches the terminal', () => {
    const json = printableJson({ key: HOSTILE, list: ['x\u0085y'] });
    expect(json).toMatch(/^[\x20-\x7e\n]+$/);
    expect(JSON.parse(json)).toEqual({ key: HOSTILE, list: ['x\u0085y'] });
  });
});
