/** Checks shared by the codecs; each returns a value or a reason. */

export const MAX_WEIGHT = 1_000_000;

export type Field<T> = { ok: true; value: T } | { ok: false; reason: string };

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A weight from a record: finite, 0 to MAX_WEIGHT. */
export function readWeight(value: unknown, field: string): Field<number> {
  if (typeof value !== 'number') return { ok: false, reason: `${field} is not a number` };
  if (!Number.isFinite(value) || value < 0) return { ok: false, reason: `${field} ${value} is negative or not finite` };
  if (value > MAX_WEIGHT) return { ok: false, reason: `${field} ${value} is above ${MAX_WEIGHT}` };
  return { ok: true, value };
}

/** Tags: absent or null means none; else an object of strings. */
export function readTags(value: unknown, field: string): Field<Readonly<Record<string, string>>> {
  if (value === undefined || value === null) return { ok: true, value: EMPTY_TAGS };
  if (!isObject(value)) return { ok: false, reason: `${field} is not an object` };
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') return { ok: false, reason: `${field}.${k} is not a string` };
  }
  return { ok: true, value: Object.freeze({ ...(value as Record<string, string>) }) };
}

export const EMPTY_TAGS: Readonly<Record<string, string>> = Object.freeze({});
