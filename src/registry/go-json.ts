/**
 * JSON as Go's `encoding/json` writes it: map keys sorted, and `<`, `>`, `&`,
 * U+2028 and U+2029 escaped. Records written this way are byte-for-byte what a
 * Go service would have written for the same data.
 */
export function goJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return goScalar(value);
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${goScalar(k)}:${goJson(v)}`).join(',')}}`;
}

/** A Go struct: fields in the order given, values as `goJson`. */
export function goStruct(fields: readonly (readonly [string, unknown])[]): string {
  return `{${fields.map(([k, v]) => `${goScalar(k)}:${goJson(v)}`).join(',')}}`;
}

function goScalar(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return typeof value === 'string' ? text.replace(/[<>&\u2028\u2029]/g, escapeChar) : text;
}

function escapeChar(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
