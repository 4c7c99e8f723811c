import { fieldValue, type FieldList } from './fields.js';
import { newRequestId } from './request-id.js';

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

/** Fields that name the client's address, which only a trusted proxy may set: dropped from other peers' requests. */
const CLIENT_ADDRESS = new Set(['x-real-ip', 'true-client-ip', 'cf-connecting-ip']);
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/** What the gateway knows about the client side of a request. */
export interface ClientSide {
  /** The peer's address, when the runtime tells it. */
  ip: string | undefined;
  proto: string;
  host: string;
  requestId: string;
  /** This gateway's `Via` entry (`1.1 etcd-edge-{deployment}`). */
  via: string;
  /** Whether the peer is a trusted proxy, whose client-address fields are passed on. */
  trusted: boolean;
}

/** The request id to use: the client's if it is sane, else a new one. */
export function requestIdOf(fields: readonly string[]): string {
  const given = fieldValue(fields, 'x-request-id');
  return given !== undefined && REQUEST_ID.test(given) ? given : newRequestId();
}

/** The end-to-end fields of a message: hop-by-hop ones and those its `Connection` names are left out. */
export function endToEnd(source: readonly string[], skip?: ReadonlySet<string>): FieldList {
  const named = connectionTokens(fieldValue(source, 'connection'));
  const out: FieldList = [];
  for (let i = 0; i < source.length; i += 2) {
    const name = source[i]!;
    if (HOP_BY_HOP.has(name) || named?.has(name) || skip?.has(name)) continue;
    out.push(name, source[i + 1]!);
  }
  return out;
}

/** Fields of the client's request the gateway writes itself. */
const REPLACED = new Set(['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id']);

/** The fields sent to an instance: end-to-end ones, the forwarding trail, `Via` and a request id; one pass. */
export function upstreamRequestHeaders(incoming: readonly string[], client: ClientSide): FieldList {
  const named = connectionTokens(fieldValue(incoming, 'connection'));
  const out: FieldList = [];
  const untrusted = !client.trusted;
  let prior: string | undefined;
  // What a trusted proxy in front (one that ended TLS, say) says the client used; anyone else's is replaced.
  let proto: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < incoming.length; i += 2) {
    const name = incoming[i]!;
    if (HOP_BY_HOP.has(name) || named?.has(name) || (untrusted && CLIENT_ADDRESS.has(name))) continue;
    const value = incoming[i + 1]!;
    if (name === 'x-forwarded-for') prior = prior === undefined ? value : `${prior}, ${value}`;
    else if (!untrusted && name === 'x-forwarded-proto') proto ??= value;
    else if (!untrusted && name === 'x-forwarded-host') host ??= value;
    if (!REPLACED.has(name)) out.push(name, value);
  }
  if (client.ip !== undefined) {
    // A load balancer in front (ALB, API Gateway) may have appended this very address already.
    const last = prior?.slice(prior.lastIndexOf(',') + 1).trim();
    out.push('x-forwarded-for', last === client.ip ? prior! : prior ? `${prior}, ${client.ip}` : client.ip);
  } else if (prior !== undefined) {
    out.push('x-forwarded-for', prior);
  }
  out.push('x-forwarded-proto', proto ?? client.proto, 'x-forwarded-host', host ?? client.host, 'forwarded', forwardedElement(client), 'via', client.via, 'x-request-id', client.requestId);
  return out;
}

/**
 * The fields returned to the client: end-to-end ones of the instance's answer,
 * `Via`, the request id and timings; one pass. `Server-Timing` is written here,
 * not by `hono/timing`, because Node's warm path never builds a Hono context.
 */
export function downstreamResponseHeaders(upstream: readonly string[], requestId: string, serverTiming: string, via: string): FieldList {
  const named = connectionTokens(fieldValue(upstream, 'connection'));
  const out: FieldList = [];
  let hasId = false;
  for (let i = 0; i < upstream.length; i += 2) {
    const name = upstream[i]!;
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    if (name === 'x-request-id') hasId = true;
    out.push(name, upstream[i + 1]!);
  }
  out.push('via', via);
  if (!hasId) out.push('x-request-id', requestId);
  out.push('server-timing', serverTiming);
  return out;
}

/** This deployment's `Via` entry: a pseudonym that tells it apart from other gateways, so passes through it can be counted. */
export function viaEntry(deployment: string): string {
  return `1.1 etcd-edge-${deployment}`;
}

/** How many times a request's `Via` says it passed through the gateway whose entry is `entry`. */
export function passesThrough(via: string, entry: string): number {
  const pseudonym = entry.slice(entry.indexOf(' ') + 1);
  let passes = 0;
  for (const element of via.split(',')) {
    // received-protocol RWS received-by [RWS comment]
    const parts = element.trim().split(/[ \t]+/);
    if (parts[1] === pseudonym) passes++;
  }
  return passes;
}

/** `compute`, answering again at once for the same input as last time: a gateway sees the same few values again and again. */
function rememberLast<T>(compute: (value: string) => T): (value: string) => T {
  let last: [string, T] | undefined;
  return (value) => {
    if (last?.[0] !== value) last = [value, compute(value)];
    return last[1];
  };
}

/** Instances send the same `Connection` value (`keep-alive`) on every answer. */
const tokensOf = rememberLast((value): ReadonlySet<string> => {
  const tokens = new Set<string>();
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name) tokens.add(name);
  }
  return tokens;
});

function connectionTokens(value: string | undefined): ReadonlySet<string> | undefined {
  return value ? tokensOf(value) : undefined;
}

function forwardedElement(client: ClientSide): string {
  const rest = `host=${quoteIfNeeded(client.host)};proto=${client.proto}`;
  const { ip } = client;
  if (ip === undefined) return rest;
  return `for=${ip.includes(':') ? `"[${ip}]"` : ip};${rest}`;
}

const quoteIfNeeded = rememberLast(quote);

function quote(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}
