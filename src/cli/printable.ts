/**
 * Anyone who can write to etcd chooses the keys and values the CLI prints: an
 * ESC sequence, a newline or a bidi override among them could forge rows or
 * rewrite the terminal. Every character a terminal would act on or hide is
 * written as an escape instead: C0 and C1 controls, DEL, format characters
 * (bidi embeddings, overrides and isolates, zero-width characters, the BOM,
 * tag characters), line and paragraph separators, and lone surrogates.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** The same set and the backslash, so that an escape in the output always means one. */
const UNPRINTABLE_OR_BACKSLASH = /[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

const SHORT: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(char: string): string {
  const short = SHORT[char];
  if (short) return short;
  const code = char.codePointAt(0)!;
  const hex = code.toString(16).padStart(code <= 0xff ? 2 : 4, '0');
  return code <= 0xff ? `\\x${hex}` : code <= 0xffff ? `\\u${hex}` : `\\u{${hex}}`;
}

/**
 * Registry data as one harmless line: a key, a URL, a tag, a reason.
 *
 * @example
 * printable('web\u001b[2J\nfake row') // 'web\\x1b[2J\\nfake row'
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE_OR_BACKSLASH, escape);
}

/**
 * A message line that may hold registry data (an error naming a key): what a
 * terminal would act on is escaped, backslashes stay as they are (the message
 * may already quote its data with `JSON.stringify`).
 */
export function safeLine(text: string): string {
  return text.replace(UNPRINTABLE, escape);
}

/** `printable` in double quotes, for a value that may be empty or hold spaces. */
export function quoted(text: string): string {
  return `"${printable(text).replaceAll('"', '\\"')}"`;
}

/** What `JSON.stringify` leaves raw of that set (it escapes C0 controls and lone surrogates itself). */
const RAW_IN_JSON = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * Indented JSON for a terminal: DEL, C1 and format characters become `\u`
 * escapes such as `\u007f` (a pair for one beyond U+FFFF), which any JSON reader decodes to the
 * same value.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(RAW_IN_JSON, (char) =>
    Array.from({ length: char.length }, (_, i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  );
}
