/** Fields that describe one connection, not the message (RFC 9110 §7.6.1), plus `expect`, which the proxy answers itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  'trailer',
  'expect',
]);

const VIA = '1.1 etcd-edge';
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/** What the gateway knows about the client side of a request. */
export interface ClientSide {
  /** The peer's address, when the runtime tells it. */
  ip: string | undefined;
  proto: string;
  host: string;
  requestId: string;
}

/** The request id to use: the client's if it is sane, else a new one. */
export function requestIdOf(headers: Headers): string {
  const given = headers.get('x-request-id');
  return given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

/** Copies the end-to-end fields of a message: hop-by-hop ones and those its `Connection` names are left out. */
export function endToEnd(source: Headers, skip?: ReadonlySet<string>): Headers {
  const named = connectionTokens(source.get('connection'));
  const out = new Headers();
  source.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || named?.has(name) || skip?.has(name)) return;
    out.append(name, value);
  });
  return out;
}

const NOT_FORWARDED = new Set(['host']);

/** The headers sent to an instance: end-to-end fields, the forwarding trail, `Via` and a request id. */
export function upstreamRequestHeaders(incoming: Headers, client: ClientSide): Headers {
  const headers = endToEnd(incoming, NOT_FORWARDED);
  if (client.ip !== undefined) {
    const prior = headers.get('x-forwarded-for');
    // A load balancer in front (ALB, API Gateway) may have appended this very address already.
    const last = prior?.slice(prior.lastIndexOf(',') + 1).trim();
    if (last !== client.ip) headers.set('x-forwarded-for', prior ? `${prior}, ${client.ip}` : client.ip);
  }
  headers.set('x-forwarded-proto', client.proto);
  headers.set('x-forwarded-host', client.host);
  headers.append('forwarded', forwardedElement(client));
  headers.append('via', VIA);
  headers.set('x-request-id', client.requestId);
  return headers;
}

/** The headers returned to the client: end-to-end fields of the instance's answer, `Via`, the request id and timings. */
export function downstreamResponseHeaders(upstream: Headers, requestId: string, serverTiming: string): Headers {
  const headers = endToEnd(upstream);
  headers.append('via', VIA);
  if (!headers.has('x-request-id')) headers.set('x-request-id', requestId);
  headers.append('server-timing', serverTiming);
  return headers;
}

function connectionTokens(value: string | null): Set<string> | undefined {
  if (!value) return undefined;
  const tokens = new Set<string>();
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name) tokens.add(name);
  }
  return tokens;
}

function forwardedElement(client: ClientSide): string {
  const parts: string[] = [];
  if (client.ip !== undefined) parts.push(`for=${client.ip.includes(':') ? `"[${client.ip}]"` : client.ip}`);
  parts.push(`host=${quoteIfNeeded(client.host)}`, `proto=${client.proto}`);
  return parts.join(';');
}

function quoteIfNeeded(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}
