import * as z from 'zod/mini';
import { toBase64, type Bytes } from './bytes.js';
import { deleteRequest, putRequest, rangeRequest } from './kv.js';
import { wireRange } from './range.js';
import type { Transport } from './transport.js';
import type { CallOptions, DeleteOptions, KeyRange, KeyValue, PutOptions, RangeOptions, ResponseHeader } from './types.js';
import { deleteRangeResponse, header, keyValue, putResponse, rangeResponse } from './wire.js';

export type CompareResult = '=' | '!=' | '<' | '>';

/** One condition of a transaction, built with `compare.*`. */
export interface Compare {
  readonly wire: Record<string, unknown>;
}

/** One operation of a transaction, built with `op.*`. */
export interface TxnOp {
  readonly wire: Record<string, unknown>;
}

export type TxnOpResult =
  | { type: 'range'; kvs: KeyValue[]; count: number; more: boolean }
  | { type: 'put'; prevKv?: KeyValue }
  | { type: 'delete'; deleted: number; prevKvs: KeyValue[] };

export interface TxnRequest {
  compare?: Compare[];
  success?: TxnOp[];
  failure?: TxnOp[];
}

export interface TxnResult {
  header: ResponseHeader;
  succeeded: boolean;
  responses: TxnOpResult[];
}

const RESULTS: Record<CompareResult, string> = { '=': 'EQUAL', '!=': 'NOT_EQUAL', '<': 'LESS', '>': 'GREATER' };

function condition(keys: KeyRange, target: string, result: CompareResult, field: string, value: string): Compare {
  return { wire: { ...wireRange(keys), target, result: RESULTS[result], [field]: value } };
}

/**
 * Transaction conditions. A key that does not exist has version, create and
 * mod revision 0, so `compare.createRevision(key, '=', 0)` means "absent".
 * @example txn({ compare: [compare.createRevision(k, '=', 0)], success: [op.put(k, v, { lease })] })
 */
export const compare = {
  version: (keys: KeyRange, result: CompareResult, version: number): Compare =>
    condition(keys, 'VERSION', result, 'version', String(version)),
  createRevision: (keys: KeyRange, result: CompareResult, revision: number): Compare =>
    condition(keys, 'CREATE', result, 'create_revision', String(revision)),
  modRevision: (keys: KeyRange, result: CompareResult, revision: number): Compare =>
    condition(keys, 'MOD', result, 'mod_revision', String(revision)),
  value: (keys: KeyRange, result: CompareResult, value: Bytes): Compare =>
    condition(keys, 'VALUE', result, 'value', toBase64(value)),
  lease: (keys: KeyRange, result: CompareResult, leaseId: string): Compare =>
    condition(keys, 'LEASE', result, 'lease', leaseId),
};

/** Transaction operations. */
export const op = {
  range: (keys: KeyRange, options: Omit<RangeOptions, 'pageSize' | 'signal'> = {}): TxnOp => ({
    wire: { request_range: rangeRequest(keys, options) },
  }),
  put: (key: Bytes, value: Bytes, options: Omit<PutOptions, 'signal'> = {}): TxnOp => ({
    wire: { request_put: putRequest(key, value, options) },
  }),
  delete: (keys: KeyRange, options: Omit<DeleteOptions, 'signal'> = {}): TxnOp => ({
    wire: { request_delete_range: deleteRequest(keys, options) },
  }),
};

const txnResponse = z.object({
  header,
  succeeded: z._default(z.optional(z.boolean()), false),
  responses: z._default(
    z.optional(
      z.array(
        z.object({
          response_range: z.optional(rangeResponse),
          response_put: z.optional(z.extend(putResponse, { prev_kv: z.optional(keyValue) })),
          response_delete_range: z.optional(deleteRangeResponse),
        }),
      ),
    ),
    [],
  ),
});

function opResult(r: z.output<typeof txnResponse>['responses'][number]): TxnOpResult {
  if (r.response_range) return { type: 'range', kvs: r.response_range.kvs, count: r.response_range.count, more: r.response_range.more };
  if (r.response_delete_range) {
    return { type: 'delete', deleted: r.response_delete_range.deleted, prevKvs: r.response_delete_range.prev_kvs };
  }
  const prevKv = r.response_put?.prev_kv;
  return prevKv === undefined ? { type: 'put' } : { type: 'put', prevKv };
}

/** Runs `success` if every `compare` holds, else `failure`, atomically. */
export async function txn(transport: Transport, request: TxnRequest, options: CallOptions = {}): Promise<TxnResult> {
  const body = {
    compare: (request.compare ?? []).map((c) => c.wire),
    success: (request.success ?? []).map((o) => o.wire),
    failure: (request.failure ?? []).map((o) => o.wire),
  };
  const write = [...body.success, ...body.failure].some((o) => !('request_range' in o));
  const r = await transport.call('/v3/kv/txn', body, txnResponse, { signal: options.signal, write, timeoutMs: options.timeoutMs });
  return { header: r.header, succeeded: r.succeeded, responses: r.responses.map(opResult) };
}
