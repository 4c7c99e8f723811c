/**
 * Request ids for requests that bring none, shaped as RFC 9562 UUIDs of
 * version 8 (layout of the implementer's choosing): 74 random bits drawn once
 * per process, then a 48-bit counter. Ids stay unique across gateways without
 * a random draw per request, which cost more than the rest of the header work.
 * The draw waits for the first request: a Worker may not make random values
 * while its script is loaded. Not `hono/request-id`: it draws a random UUID
 * per request, and the core serves Node's warm path without Hono at all.
 */
let prefix: string | undefined;
let count = 0;

const COUNTER_LIMIT = 2 ** 48;

export function newRequestId(): string {
  if (prefix === undefined || count >= COUNTER_LIMIT) {
    prefix = drawPrefix();
    count = 0;
  }
  return prefix + (count++).toString(16).padStart(12, '0');
}

/** `xxxxxxxx-xxxx-8xxx-Vxxx-`: random hex with the version nibble 8 and the variant bits 10. */
function drawPrefix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-`;
}
