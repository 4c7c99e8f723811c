/**
 * Schemas of etcd's JSON gateway responses (3.4–3.6). int64 fields arrive as
 * strings and zero values are omitted, so almost every field is optional with
 * the proto default. Decoding turns the wire shape into the client's types.
 *
 * zod/mini keeps the Worker bundle free of zod's locales; `decode` supplies
 * the English issue messages our errors quote.
 */
import * as z from 'zod/mini';
import { fromBase64 } from './bytes.js';
import type { KeyValue, ResponseHeader } from './types.js';

const INT64 = /^-?\d+$/;

/** A JSON integer: a number with no fraction, within ±(2^53 − 1). */
const integer = () => z.number().check(z.int());

const int64Input = () => z.union([z.string().check(z.regex(INT64)), integer()]);

/** int64 as a JS number; rejects values past 2^53 instead of rounding them. */
export const int64 = z.pipe(
  int64Input(),
  z.transform((value: string | number, ctx) => {
    const n = typeof value === 'number' ? value : Number(value);
    if (!Number.isSafeInteger(n)) {
      ctx.issues.push({ code: 'custom', message: `integer out of range: ${value}`, input: value });
      return z.NEVER;
    }
    return n;
  }),
);

/** int64 kept as its decimal string (lease IDs exceed 2^53). */
export const int64String = z.pipe(
  int64Input(),
  z.transform((value: string | number) => String(value)),
);

export const bytes = z.pipe(
  z.string(),
  z.transform((text: string, ctx) => {
    try {
      return fromBase64(text);
    } catch {
      ctx.issues.push({ code: 'custom', message: 'invalid base64', input: text });
      return z.NEVER;
    }
  }),
);

export const header = z.pipe(
  z.optional(
    z.object({
      cluster_id: z.optional(int64String),
      member_id: z.optional(int64String),
      revision: z.optional(int64),
      raft_term: z.optional(int64),
    }),
  ),
  z.transform(
    (h: { cluster_id?: string; member_id?: string; revision?: number; raft_term?: number } | undefined): ResponseHeader => ({
      revision: h?.revision ?? 0,
      clusterId: h?.cluster_id ?? '0',
      memberId: h?.member_id ?? '0',
      raftTerm: h?.raft_term ?? 0,
    }),
  ),
);

const keyValueFields = z.object({
  key: z.optional(bytes),
  value: z.optional(bytes),
  create_revision: z.optional(int64),
  mod_revision: z.optional(int64),
  version: z.optional(int64),
  lease: z.optional(int64String),
});

export const keyValue = z.pipe(
  keyValueFields,
  z.transform(
    (kv: z.output<typeof keyValueFields>): KeyValue => ({
      key: kv.key ?? new Uint8Array(0),
      value: kv.value ?? new Uint8Array(0),
      createRevision: kv.create_revision ?? 0,
      modRevision: kv.mod_revision ?? 0,
      version: kv.version ?? 0,
      lease: kv.lease ?? '0',
    }),
  ),
);

export const rangeResponse = z.object({
  header,
  kvs: z._default(z.optional(z.array(keyValue)), []),
  more: z._default(z.optional(z.boolean()), false),
  count: z._default(z.optional(int64), 0),
});

export const putResponse = z.object({ header, prev_kv: z.optional(keyValue) });

/** An answer read only for its header (compaction, lease revoke). */
export const headerResponse = z.object({ header });

export const deleteRangeResponse = z.object({
  header,
  deleted: z._default(z.optional(int64), 0),
  prev_kvs: z._default(z.optional(z.array(keyValue)), []),
});

export const leaseGrantResponse = z.object({
  header,
  ID: int64String,
  TTL: z._default(z.optional(int64), 0),
  error: z.optional(z.string()),
});

/** `/v3/lease/keepalive` is a stream endpoint: its answer is wrapped in `result`. */
export const leaseKeepAliveResponse = z.object({
  result: z.object({ header, ID: z.optional(int64String), TTL: z.optional(int64) }),
});

export const leaseTimeToLiveResponse = z.object({
  header,
  ID: z.optional(int64String),
  TTL: z._default(z.optional(int64), 0),
  grantedTTL: z._default(z.optional(int64), 0),
  keys: z._default(z.optional(z.array(bytes)), []),
});

export const leaseLeasesResponse = z.object({
  header,
  leases: z._default(z.optional(z.array(z.object({ ID: int64String }))), []),
});

export const authenticateResponse = z.object({ header, token: z.string().check(z.minLength(1)) });

/** Error bodies: `{error, code, message}` (3.4/3.5) or `{code, message}` (3.6). */
export const errorBody = z.object({
  code: integer(),
  message: z.optional(z.string()),
  error: z.optional(z.string()),
});

/** Errors inside a stream: grpc-gateway v1 `grpc_code` or v2 `code`. */
export const streamError = z.object({
  error: z.object({
    grpc_code: z.optional(integer()),
    code: z.optional(integer()),
    message: z.optional(z.string()),
  }),
});

/** Validates `value` against a wire schema, with English issue messages. */
export function decode<S extends z.ZodMiniType>(schema: S, value: unknown): z.core.util.SafeParseResult<z.output<S>> {
  return schema.safeParse(value, { error: issueMessage });
}

/**
 * zod's English message for the issues these schemas raise (zod/mini loads
 * no locale); issues raised by our own code carry their message already.
 */
function issueMessage(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `Invalid input: expected ${issue.expected}, received ${typeName(issue.input)}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `Invalid input: expected ${z.util.stringifyPrimitive(issue.values[0])}`
        : `Invalid option: expected one of ${z.util.joinValues(issue.values, '|')}`;
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = small ? issue.minimum : issue.maximum;
      const adj = issue.exact ? 'exactly ' : (issue.inclusive ? (small ? '>=' : '<=') : small ? '>' : '<');
      const unit = ({ string: 'characters', file: 'bytes', array: 'items', set: 'items', map: 'entries' } as Record<string, string>)[issue.origin];
      const head = `Too ${small ? 'small' : 'big'}: expected ${issue.origin ?? 'value'} to`;
      return unit ? `${head} have ${adj}${bound.toString()} ${unit}` : `${head} be ${adj}${bound.toString()}`;
    }
    case 'invalid_format':
      return issue.format === 'regex' ? `Invalid string: must match pattern ${String(issue.pattern)}` : `Invalid ${issue.format}`;
    default:
      return 'Invalid input';
  }
}

function typeName(input: unknown): string {
  const type = z.util.parsedType(input);
  if (type === 'nan') return 'NaN';
  return type === 'number' && !Number.isFinite(input) ? String(input) : type;
}
