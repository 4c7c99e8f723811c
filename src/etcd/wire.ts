/**
 * Schemas of etcd's JSON gateway responses (3.4–3.6). int64 fields arrive as
 * strings and zero values are omitted, so almost every field is optional with
 * the proto default. Decoding turns the wire shape into the client's types.
 */
import { z } from 'zod';
import { fromBase64 } from './bytes.js';
import type { KeyValue, ResponseHeader } from './types.js';

const INT64 = /^-?\d+$/;

/** int64 as a JS number; rejects values past 2^53 instead of rounding them. */
export const int64 = z
  .union([z.string().regex(INT64), z.number().int()])
  .transform((value, ctx) => {
    const n = typeof value === 'number' ? value : Number(value);
    if (!Number.isSafeInteger(n)) {
      ctx.addIssue({ code: 'custom', message: `integer out of range: ${value}` });
      return z.NEVER;
    }
    return n;
  });

/** int64 kept as its decimal string (lease IDs exceed 2^53). */
export const int64String = z
  .union([z.string().regex(INT64), z.number().int()])
  .transform((value) => String(value));

export const bytes = z.string().transform((text, ctx) => {
  try {
    return fromBase64(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'invalid base64' });
    return z.NEVER;
  }
});

export const header = z
  .object({
    cluster_id: int64String.optional(),
    member_id: int64String.optional(),
    revision: int64.optional(),
    raft_term: int64.optional(),
  })
  .optional()
  .transform(
    (h): ResponseHeader => ({
      revision: h?.revision ?? 0,
      clusterId: h?.cluster_id ?? '0',
      memberId: h?.member_id ?? '0',
      raftTerm: h?.raft_term ?? 0,
    }),
  );

export const keyValue = z
  .object({
    key: bytes.optional(),
    value: bytes.optional(),
    create_revision: int64.optional(),
    mod_revision: int64.optional(),
    version: int64.optional(),
    lease: int64String.optional(),
  })
  .transform(
    (kv): KeyValue => ({
      key: kv.key ?? new Uint8Array(0),
      value: kv.value ?? new Uint8Array(0),
      createRevision: kv.create_revision ?? 0,
      modRevision: kv.mod_revision ?? 0,
      version: kv.version ?? 0,
      lease: kv.lease ?? '0',
    }),
  );

export const rangeResponse = z.object({
  header,
  kvs: z.array(keyValue).optional().default([]),
  more: z.boolean().optional().default(false),
  count: int64.optional().default(0),
});

export const putResponse = z.object({ header, prev_kv: keyValue.optional() });

export const deleteRangeResponse = z.object({
  header,
  deleted: int64.optional().default(0),
  prev_kvs: z.array(keyValue).optional().default([]),
});

export const leaseGrantResponse = z.object({
  header,
  ID: int64String,
  TTL: int64.optional().default(0),
  error: z.string().optional(),
});

/** `/v3/lease/keepalive` is a stream endpoint: its answer is wrapped in `result`. */
export const leaseKeepAliveResponse = z.object({
  result: z.object({ header, ID: int64String.optional(), TTL: int64.optional() }),
});

export const leaseTimeToLiveResponse = z.object({
  header,
  ID: int64String.optional(),
  TTL: int64.optional().default(0),
  grantedTTL: int64.optional().default(0),
  keys: z.array(bytes).optional().default([]),
});

export const leaseLeasesResponse = z.object({
  header,
  leases: z.array(z.object({ ID: int64String })).optional().default([]),
});

export const authenticateResponse = z.object({ header, token: z.string().min(1) });

/** Error bodies: `{error, code, message}` (3.4/3.5) or `{code, message}` (3.6). */
export const errorBody = z.object({
  code: z.number().int(),
  message: z.string().optional(),
  error: z.string().optional(),
});

/** Errors inside a stream: grpc-gateway v1 `grpc_code` or v2 `code`. */
export const streamError = z.object({
  error: z.object({
    grpc_code: z.number().int().optional(),
    code: z.number().int().optional(),
    message: z.string().optional(),
  }),
});
