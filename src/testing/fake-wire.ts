import type { StoredKv } from './fake-store.js';

/** Bytes ↔ the fake's latin1 key strings ↔ base64, with Web APIs only. */
export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A base64 field of a request, as the store's key string. */
export function b64ToKey(b64: string | undefined): string {
  return b64 ? atob(b64) : '';
}

export function bytesToB64(bytes: Uint8Array): string {
  return btoa(latin1(bytes));
}

/** A stored key-value pair in the gateway's JSON shape (zero values omitted, int64 as strings). */
export function wireKv(kv: StoredKv, keysOnly = false): Record<string, string> {
  const out: Record<string, string> = {
    key: btoa(kv.key),
    create_revision: String(kv.createRevision),
    mod_revision: String(kv.modRevision),
    version: String(kv.version),
  };
  if (!keysOnly && kv.value.length > 0) out.value = bytesToB64(kv.value);
  if (kv.lease !== '0') out.lease = kv.lease;
  return out;
}
