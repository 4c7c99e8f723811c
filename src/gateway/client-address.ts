import { inCidr, parseCidr, parseIp } from './ip.js';

/**
 * Who the client is, when a request may have come through proxies. Only a
 * peer in `ETCD_EDGE_TRUSTED_PROXIES` may say so (through `X-Forwarded-For`,
 * else `Forwarded`); anyone else could write any address there, and the
 * address keys the cold-lookup limiter, the `hash` strategy on `ip` and the
 * access log.
 *
 * @example
 * const proxies = new TrustedProxies(['10.0.0.0/8']);
 * proxies.clientOf('10.0.0.5', ['x-forwarded-for', '203.0.113.7, 10.0.0.9']); // '203.0.113.7'
 */
export class TrustedProxies {
  readonly #cidrs: { base: bigint; bits: number }[];

  /** @throws {RangeError} for an entry that is not an address or CIDR */
  constructor(cidrs: readonly string[]) {
    this.#cidrs = cidrs.map((text) => {
      const cidr = parseCidr(text);
      if (!cidr) throw new RangeError(`trusted proxy ${JSON.stringify(text)}: expected an IP address or CIDR`);
      return cidr;
    });
  }

  /** Whether no proxy is trusted (the usual case): the peer is the client, and nothing is parsed. */
  get none(): boolean {
    return this.#cidrs.length === 0;
  }

  /** Whether the peer may speak for the client. */
  trusts(peer: string | undefined): boolean {
    if (peer === undefined || this.#cidrs.length === 0) return false;
    return this.#trustsIp(parseIp(peer));
  }

  /**
   * The client's address: the peer's, or for a trusted peer the nearest
   * address in the forwarding trail that is not itself a trusted proxy
   * (walking from the right, where the trusted ones appended theirs).
   */
  clientOf(peer: string | undefined, fields: readonly string[]): string | undefined {
    if (!this.trusts(peer)) return peer;
    const trail = forwardingTrail(fields);
    let client = peer;
    for (let i = trail.length - 1; i >= 0; i--) {
      const ip = parseIp(trail[i]!);
      // An entry that is no address (`unknown`, an obfuscated name) ends what can be followed.
      if (ip === undefined) break;
      client = trail[i]!;
      if (!this.#trustsIp(ip)) break;
    }
    return client;
  }

  #trustsIp(ip: bigint | undefined): boolean {
    return ip !== undefined && this.#cidrs.some((cidr) => inCidr(ip, cidr));
  }
}

/** The addresses of `X-Forwarded-For` (every field, in order), else the `for=` of `Forwarded`. */
function forwardingTrail(fields: readonly string[]): string[] {
  const xff: string[] = [];
  const forwarded: string[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    if (name === 'x-forwarded-for') for (const entry of fields[i + 1]!.split(',')) xff.push(bare(entry.trim()));
    else if (name === 'forwarded') forwarded.push(...forwardedFor(fields[i + 1]!));
  }
  return xff.length > 0 ? xff : forwarded;
}

/** The `for=` node of each element of a `Forwarded` value (RFC 7239), without quotes, brackets or port. */
function forwardedFor(value: string): string[] {
  const nodes: string[] = [];
  for (const element of value.split(',')) {
    const pair = element.split(';').find((part) => part.trim().toLowerCase().startsWith('for='));
    nodes.push(pair === undefined ? 'unknown' : bare(pair.trim().slice(4).replace(/^"|"$/g, '')));
  }
  return nodes;
}

/** An address without the brackets and port a trail entry may carry (`[2001:db8::1]:443`, `192.0.2.1:80`). */
function bare(node: string): string {
  if (node.startsWith('[')) return node.slice(1, node.indexOf(']') === -1 ? undefined : node.indexOf(']'));
  const colon = node.indexOf(':');
  return colon !== -1 && colon === node.lastIndexOf(':') ? node.slice(0, colon) : node;
}
