import { LAYOUT_NAMES, MAX_WEIGHT, parseAddress, type Decoded, type Instance, type LayoutName, type SkippedRecord } from '../registry/index.js';
import { RelayError } from './errors.js';

/** A relay's answer for one service, checked: instances that passed, and those skipped (by the relay or here). */
export interface RelayBody {
  revision: number;
  records: Decoded[];
  /** How old the relay's snapshot was when it answered (ms). */
  ageMs: number;
  /** The relay could not reach etcd and answered from what it holds. */
  stale: boolean;
}

/** Controls and the invisible characters that reorder or hide text: an id made of them reads as another one. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/;
const LEASE_ID = /^\d{1,20}$/;
const KEY_MAX = 4096;

type Check<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Checks a relay's JSON body for `service`. The relay is another process: a
 * malformed instance is skipped with a reason (like a record etcd holds that
 * does not decode); a body of the wrong shape is a protocol error.
 * @throws {RelayError} `RELAY_PROTOCOL`
 */
export function decodeRelayBody(service: string, body: unknown): RelayBody {
  if (!isObject(body)) throw protocol('the body is not a JSON object');
  if (body.service !== service) throw protocol('the body is for another service');
  const { revision, instances, skipped, ageMs, stale } = body;
  if (!isCount(revision)) throw protocol('revision is not a non-negative integer');
  if (!Array.isArray(instances)) throw protocol('instances is not an array');
  if (skipped !== undefined && !Array.isArray(skipped)) throw protocol('skipped is not an array');
  const records: Decoded[] = [];
  const keys = new Set<string>();
  instances.forEach((raw: unknown, i) => {
    const checked = checkInstance(service, raw);
    const key = isObject(raw) && typeof raw.key === 'string' && raw.key.length <= KEY_MAX ? raw.key : `(relay instance ${i})`;
    const layout = isObject(raw) && isLayout(raw.layout) ? raw.layout : 'native';
    if (checked.ok && keys.has(key)) records.push(skip(key, layout, 'relay sent this key twice'));
    else records.push(checked.ok ? { ok: true, instance: checked.value } : skip(key, layout, `relay instance: ${checked.reason}`));
    keys.add(key);
  });
  for (const raw of skipped ?? []) {
    if (isObject(raw) && typeof raw.key === 'string' && isLayout(raw.layout) && typeof raw.reason === 'string') records.push(skip(raw.key, raw.layout, raw.reason));
  }
  return { revision, records, ageMs: typeof ageMs === 'number' && ageMs >= 0 ? ageMs : 0, stale: stale === true };
}

function checkInstance(service: string, raw: unknown): Check<Instance> {
  if (!isObject(raw)) return fail('not an object');
  const { id, url, weight, tags, metadata, key, layout, leaseId, revision } = raw;
  if (raw.service !== service) return fail('service is not the one asked for');
  if (typeof key !== 'string' || key.length === 0 || key.length > KEY_MAX) return fail('key is not a string of 1-4096 characters');
  if (!isLayout(layout)) return fail('layout is not a known layout');
  if (typeof id !== 'string' || id.length === 0 || id.length > 256 || UNPRINTABLE.test(id)) return fail('id is not 1-256 printable characters');
  if (typeof url !== 'string') return fail('url is not a string');
  const address = parseAddress(url);
  if (!address.ok) return fail(address.reason);
  if (address.address.url !== url) return fail('url is not of the form scheme://host:port');
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > MAX_WEIGHT) return fail(`weight is not a number from 0 to ${MAX_WEIGHT}`);
  const checkedTags = checkTags(tags);
  if (!checkedTags.ok) return checkedTags;
  if (leaseId !== undefined && (typeof leaseId !== 'string' || !LEASE_ID.test(leaseId))) return fail('leaseId is not a decimal string');
  if (!isCount(revision)) return fail('revision is not a non-negative integer');
  const instance: Instance = { service, id, url, weight: weight + 0, tags: checkedTags.value, metadata, key, layout, revision, ...(leaseId === undefined ? {} : { leaseId }) };
  return { ok: true, value: Object.freeze(instance) };
}

function checkTags(tags: unknown): Check<Readonly<Record<string, string>>> {
  if (tags === undefined || tags === null) return { ok: true, value: Object.freeze({}) };
  if (!isObject(tags)) return fail('tags is not an object');
  for (const value of Object.values(tags)) if (typeof value !== 'string') return fail('a tag value is not a string');
  return { ok: true, value: Object.freeze({ ...(tags as Record<string, string>) }) };
}

function skip(key: string, layout: LayoutName, reason: string): Decoded {
  const skipped: SkippedRecord = Object.freeze({ key, layout, reason });
  return { ok: false, skipped };
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

function protocol(detail: string): RelayError {
  return new RelayError('RELAY_PROTOCOL', `snapshot relay answered with a malformed body: ${detail}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isLayout(value: unknown): value is LayoutName {
  return typeof value === 'string' && (LAYOUT_NAMES as readonly string[]).includes(value);
}
