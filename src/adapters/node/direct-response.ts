import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { errorResponse, type FieldList, type UpstreamResponse } from '../../gateway/index.js';

/** Instances' response bodies as undici gave them, for writing straight to the client. */
const nativeBodies = new WeakMap<UpstreamResponse, Readable>();

/** An upstream response whose Web `body` is made only if someone asks for it. */
export function lazyBody(status: number, headers: FieldList, native: Readable, toWeb: () => ReadableStream<Uint8Array>): UpstreamResponse {
  let web: ReadableStream<Uint8Array> | undefined;
  const response: UpstreamResponse = {
    status,
    headers,
    get body() {
      return (web ??= toWeb());
    },
  };
  // Destroying an undici body emits 'error'; whoever tears it down has already decided.
  native.on('error', ignore);
  nativeBodies.set(response, native);
  return response;
}

/**
 * Writes an instance's answer to Node's response directly: no Web `Response`
 * in between, so no per-chunk stream conversion, and none of the defaults
 * @hono/node-server would add (a `text/plain` content type on a response that
 * had none). Client gone or instance broken off: both sides are torn down.
 * Returns undefined when the body is not one it can write (the caller falls back).
 */
export function writeDirect(outgoing: ServerResponse, upstream: UpstreamResponse, headers: FieldList, bodyless: boolean): Response | undefined {
  const native = nativeBodies.get(upstream);
  const bytes = native === undefined && upstream.body instanceof Uint8Array ? upstream.body : undefined;
  if (native === undefined && bytes === undefined && upstream.body !== null) return undefined;
  try {
    outgoing.writeHead(upstream.status, headers);
  } catch {
    // A field Node refuses to send (a character it does not allow): nothing was written yet.
    native?.destroy();
    return errorResponse('UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on');
  }
  if (bodyless || native === undefined) {
    native?.destroy();
    outgoing.end(bodyless ? undefined : bytes);
  } else {
    pipeline(native, outgoing, (error) => {
      if (error) outgoing.destroy();
    });
  }
  return RESPONSE_ALREADY_SENT;
}

function ignore(): void {}
