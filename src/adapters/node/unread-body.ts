import type { IncomingMessage, ServerResponse } from 'node:http';

/** The most of an unread body the gateway reads and drops after answering early, to keep the connection (nginx discards such bodies too). */
export const DISCARD_BYTES = 64 * 1024;

/** What the proxy did with a request's body: nothing (a stream made but never pulled included), read it whole (a declared length it buffers), or began to send it on as a stream. */
export type BodyUse = 'unread' | 'read' | 'streamed';

/**
 * An HTTP/1.1 request answered before its body came in whole (refused, cut
 * off at the limit, or an instance that answered early). Closing at once is
 * what HTTP/1.1's framing asks (the rest would be read as the next request),
 * but a client still writing its body then meets a reset before it reads the
 * answer: EPIPE, and a refused small POST looks like a network failure. So:
 * - a body being read whole is left to its reader, which takes the rest (its
 *   length was declared and within what the proxy buffers);
 * - an unread one of at most `DISCARD_BYTES`, declared or counted as it
 *   comes, is read and dropped, and the connection kept;
 * - a larger one, or one an attempt began to stream (its reader holds it,
 *   and nothing sends it on now), closes the connection after the answer.
 *
 * @param declared the request's Content-Length field, undefined when chunked
 */
export function settleUnreadBody(incoming: IncomingMessage, outgoing: ServerResponse, declared: string | undefined, use: BodyUse): void {
  if (use === 'read') return;
  if (use === 'streamed' || (declared !== undefined && !(Number(declared) <= DISCARD_BYTES))) {
    outgoing.shouldKeepAlive = false;
    return;
  }
  let dropped = 0;
  // A 'data' listener sets the body flowing, and Node leaves a body being read to its reader rather than dumping it.
  incoming.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped <= DISCARD_BYTES) return;
    incoming.pause();
    const close = (): void => void incoming.socket.destroy();
    if (outgoing.writableFinished) close();
    else outgoing.once('finish', close).once('close', close);
  });
}
