import { isObject, readTags, readWeight, EMPTY_TAGS, type Field } from './fields.js';
import type { ValueFields } from './layout.js';
import type { Registration } from './instance.js';
import { goStruct } from './go-json.js';
import { RegistryError } from './errors.js';

/** etcd's naming `Update.Op`: 0 adds an endpoint, 1 deletes it. */
const OP_ADD = 0;
const OP_DELETE = 1;

/**
 * Reads etcd's gRPC naming / `naming/endpoints` value, `{"Op":0,"Addr":…,"Metadata":…}`
 * (`Op` optional). Metadata may be anything; an object's numeric `weight` and
 * string map `tags` are taken from it. `strict` (native, which we write)
 * skips a record whose weight is not a number or whose tags are not strings;
 * otherwise (foreign writers) those fields fall back to weight 1 and no tags.
 */
export function readEndpointValue(value: unknown, strict: boolean): Field<ValueFields> {
  if (!isObject(value)) return { ok: false, reason: 'value is not a JSON object' };
  if (value.Op === OP_DELETE) return { ok: false, reason: 'Op is 1 (delete)' };
  if (value.Op !== undefined && value.Op !== OP_ADD) return { ok: false, reason: 'Op is not 0 or 1' };
  if (typeof value.Addr !== 'string') return { ok: false, reason: value.Addr === undefined ? 'Addr is missing' : 'Addr is not a string' };
  const metadata = value.Metadata;
  if (!isObject(metadata)) return { ok: true, value: { address: value.Addr, weight: 1, tags: EMPTY_TAGS, metadata: metadata ?? null } };
  const { weight: rawWeight, tags: rawTags, ...rest } = metadata;
  const lenientWeight = rawWeight === undefined || (!strict && typeof rawWeight !== 'number');
  const weight = lenientWeight ? ({ ok: true, value: 1 } as const) : readWeight(rawWeight, 'Metadata.weight');
  if (!weight.ok) return weight;
  let tags = readTags(rawTags, 'Metadata.tags');
  if (!tags.ok && !strict) tags = { ok: true, value: EMPTY_TAGS };
  if (!tags.ok) return tags;
  return { ok: true, value: { address: value.Addr, weight: weight.value, tags: tags.value, metadata: Object.freeze(rest) } };
}

/** Writes the endpoint value as Go's `json.Marshal` of etcd's naming `Update` would. */
export function writeEndpointValue(addr: string, registration: Registration, weight: number): string {
  const extra = registration.metadata ?? {};
  for (const reserved of ['weight', 'tags']) {
    if (reserved in extra) throw new RegistryError('INVALID_REGISTRATION', `metadata may not set "${reserved}": use the ${reserved} option`);
  }
  const tags = registration.tags ?? {};
  const metadata = { ...extra, weight, ...(Object.keys(tags).length > 0 ? { tags } : {}) };
  return goStruct([
    ['Op', OP_ADD],
    ['Addr', addr],
    ['Metadata', metadata],
  ]);
}
