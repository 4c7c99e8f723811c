import type { Resolver, Snapshot } from '../discovery/index.js';
import { RegistryError } from '../registry/index.js';
import type { ColdLookupLimiter } from './cold-limiter.js';
import type { Inbound } from './inbound.js';
import { parseIp } from './ip.js';

/** How a lookup ended: a snapshot to route with, or why there is none. */
export type Lookup = Snapshot | 'invalid' | 'deferred' | 'unavailable';

const NO_OPTIONS = Object.freeze({});

/**
 * A service's snapshot for one request: at once when one can be served now.
 * Names with nothing behind them (never seen, or empty) cost etcd reads, so
 * those are rationed per client.
 */
export function lookup(resolver: Resolver, coldLookups: ColdLookupLimiter, request: Inbound, service: string, clientIp: string | undefined): Lookup | Promise<Lookup> {
  const held = resolver.peek(service);
  const empty = !held || (held.instances.length === 0 && held.skipped.length === 0);
  if (empty && !coldLookups.take(clientKey(clientIp))) return 'deferred';
  try {
    const found = resolver.resolveNow(service, request.waitUntil ? { waitUntil: request.waitUntil } : NO_OPTIONS);
    return found instanceof Promise ? found.catch(lookupFailure) : found;
  } catch (error) {
    return lookupFailure(error);
  }
}

function lookupFailure(error: unknown): 'invalid' | 'unavailable' {
  return error instanceof RegistryError ? 'invalid' : 'unavailable';
}

/** A client's bucket key: its address, or its /64 for IPv6, where one host can rotate through many. */
function clientKey(ip: string | undefined): string | undefined {
  if (ip === undefined || !ip.includes(':')) return ip;
  const bits = parseIp(ip);
  return bits === undefined ? ip : `${(bits >> 64n).toString(16)}::/64`;
}
