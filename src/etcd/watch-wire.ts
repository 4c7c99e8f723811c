import * as z from 'zod/mini';
import { EtcdCompactedError, EtcdError, EtcdProtocolError } from './errors.js';
import { errorFromStatus, grpcCodeByName, isStaleTokenError } from './status.js';
import type { WatchEvent } from './types.js';
import { decode, header, int64, int64String, keyValue, streamError } from './wire.js';

/** What one line of a watch stream says. */
export type WatchMessage =
  | { kind: 'created'; revision: number }
  | { kind: 'events'; revision: number; events: WatchEvent[] }
  | { kind: 'progress'; revision: number }
  | { kind: 'canceled'; error: EtcdError; staleToken: boolean };

const eventFields = z.object({ type: z.optional(z.enum(['PUT', 'DELETE'])), kv: keyValue, prev_kv: z.optional(keyValue) });

const event = z.pipe(
  eventFields,
  z.transform((e: z.output<typeof eventFields>): WatchEvent => {
    const type = e.type === 'DELETE' ? 'delete' : 'put';
    return e.prev_kv === undefined ? { type, kv: e.kv } : { type, kv: e.kv, prevKv: e.prev_kv };
  }),
);

const watchResult = z.object({
  result: z.object({
    header,
    watch_id: z.optional(int64String),
    created: z.optional(z.boolean()),
    canceled: z.optional(z.boolean()),
    compact_revision: z.optional(int64),
    cancel_reason: z.optional(z.string()),
    events: z._default(z.optional(z.array(event)), []),
  }),
});

/** Decodes one line of `/v3/watch`. Malformed lines become `EtcdProtocolError`. */
export function decodeWatchLine(line: string): WatchMessage {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (cause) {
    throw new EtcdProtocolError('watch stream sent a line that is not JSON (truncated stream?)', { cause });
  }
  const failure = decode(streamError, json);
  if (failure.success) {
    const { grpc_code, code, message } = failure.data.error;
    throw errorFromStatus(grpc_code ?? code ?? 2, message ?? 'watch stream error');
  }
  const parsed = decode(watchResult, json);
  if (!parsed.success) {
    throw new EtcdProtocolError('unexpected watch message shape', { cause: parsed.error });
  }
  return classify(parsed.data.result);
}

function classify(r: z.output<typeof watchResult>['result']): WatchMessage {
  if (r.canceled) return canceled(r.compact_revision ?? 0, r.cancel_reason ?? '');
  if (r.compact_revision !== undefined && r.compact_revision > 0) return canceled(r.compact_revision, '');
  if (r.created) return { kind: 'created', revision: r.header.revision };
  if (r.events.length > 0) return { kind: 'events', revision: r.header.revision, events: r.events };
  return { kind: 'progress', revision: r.header.revision };
}

/**
 * A canceled watch. Compaction is structural (`compact_revision`); other
 * reasons arrive as text such as "rpc error: code = Unauthenticated desc = …".
 */
function canceled(compactRevision: number, reason: string): WatchMessage {
  if (compactRevision > 0) return { kind: 'canceled', error: new EtcdCompactedError(compactRevision), staleToken: false };
  const match = /code = (\w+) desc = (.*)$/s.exec(reason);
  const grpcCode = match ? grpcCodeByName(match[1]!) ?? 2 : 2;
  const message = match ? match[2]! : reason || 'watch canceled by etcd';
  if (isStaleTokenError(grpcCode, message)) {
    // Worth a reconnect once the token is refreshed, whatever the status says.
    const error = new EtcdError('ETCD_UNAUTHENTICATED', `etcd: ${message}`, { retryable: true, grpcCode });
    return { kind: 'canceled', error, staleToken: true };
  }
  return { kind: 'canceled', error: errorFromStatus(grpcCode, message), staleToken: false };
}
