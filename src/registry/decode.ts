import { parseJson, utf8, type KeyValue } from '../etcd/index.js';
import { parseAddress } from './address.js';
import type { Decoded, Instance, SkippedRecord } from './instance.js';
import type { KeyLayout } from './layout.js';
import { isServiceName } from './service-name.js';

/** Values above this are not parsed: no registry record needs more. */
export const MAX_VALUE_BYTES = 64 * 1024;

const lossy = new TextDecoder('utf-8');

/**
 * Decodes one etcd key-value in a layout. Returns undefined for a key that
 * is not the layout's (or names no valid service), else the instance or a
 * skip reason naming the key. Never throws.
 */
export function decodeRecord(layout: KeyLayout, kv: KeyValue): Decoded | undefined {
  let key: string;
  try {
    key = utf8(kv.key);
  } catch {
    return skip(layout, printableKey(kv.key), 'key is not valid UTF-8');
  }
  const names = layout.parseKey(key);
  if (names === undefined || !isServiceName(names.service)) return undefined;
  if (kv.value.length > MAX_VALUE_BYTES) return skip(layout, key, `value is ${kv.value.length} bytes, above ${MAX_VALUE_BYTES}`);
  let json: unknown;
  try {
    json = parseJson(kv.value);
  } catch {
    return skip(layout, key, 'value is not valid UTF-8 JSON');
  }
  const fields = layout.readValue(json);
  if (!fields.ok) return skip(layout, key, fields.reason);
  const address = parseAddress(fields.value.address);
  if (!address.ok) return skip(layout, key, address.reason);
  const instance: Instance = {
    service: names.service,
    id: names.id,
    url: address.address.url,
    weight: fields.value.weight,
    tags: fields.value.tags,
    metadata: fields.value.metadata,
    key,
    layout: layout.name,
    ...(kv.lease === '0' ? {} : { leaseId: kv.lease }),
    revision: kv.modRevision,
  };
  return { ok: true, instance: Object.freeze(instance) };
}

/** A key as text for messages: invalid UTF-8 shown with replacement characters. */
export function printableKey(key: Uint8Array): string {
  return lossy.decode(key);
}

function skip(layout: KeyLayout, key: string, reason: string): Decoded {
  const skipped: SkippedRecord = Object.freeze({ key, layout: layout.name, reason });
  return { ok: false, skipped };
}
