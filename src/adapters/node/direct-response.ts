import type { ServerResponse } from 'node:http';
import { Readable, pipeline } from 'node:stream';
import { discardBody, errorParts, type ErrorParts, type FieldList, type UpstreamResponse } from '../../gateway/index.js';

/** Instances' response bodies as undici gave them, for writing straight to the client. */
const nativeBodies = new WeakMap<UpstreamResponse, Readable>();

/** undici's own body of an upstream response, when it came from undici. */
export function nativeBodyOf(response: UpstreamResponse): Readable | undefined {
  return nativeBodies.get(response);
}

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
 * Writes an instance's answer to Node's response: undici's body straight to
 * the socket with backpressure, no Web stream in between. Client gone or
 * instance broken off: both sides are torn down.
 */
export function writeAnswer(outgoing: ServerResponse, upstream: UpstreamResponse, headers: FieldList, bodyless: boolean): void {
  const native = nativeBodies.get(upstream);
  try {
    outgoing.writeHead(upstream.status, headers);
  } catch {
    // A field Node refuses to send (a character it does not allow): nothing was written yet.
    if (native) native.destroy();
    else discardBody(upstream.body);
    writeError(outgoing, errorParts('UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on'));
    return;
  }
  if (bodyless) {
    if (native) native.destroy();
    else discardBody(upstream.body);
    outgoing.end();
    return;
  }
  const body = native ?? upstream.body;
  if (body === null || body instanceof Uint8Array) {
    outgoing.end(body ?? undefined);
    return;
  }
  const source = body instanceof ReadableStream ? Readable.fromWeb(body as import('node:stream/web').ReadableStream) : body;
  pipeline(source, outgoing, (error) => {
    if (error) outgoing.destroy();
  });
}

/** The gateway's own error answer; a response already under way is cut off instead. */
export function writeError(outgoing: ServerResponse, error: ErrorParts): void {
  if (outgoing.headersSent) {
    outgoing.destroy();
    return;
  }
  outgoing.writeHead(error.status, error.fields).end(error.body);
}

function ignore(): void {}
