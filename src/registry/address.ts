/** An instance address, validated and normalized. */
export interface Address {
  scheme: 'http' | 'https';
  /** Lower-case host name, dotted IPv4, or IPv6 in brackets. */
  host: string;
  port: number;
  /** `host:port`, the form Go registries store. */
  authority: string;
  /** `scheme://host:port`, with no trailing slash. */
  url: string;
}

export type ParsedAddress = { ok: true; address: Address } | { ok: false; reason: string };

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
/** A last label that WHATWG URL parsing would read as an IPv4 number (`1.2.3`, `0x7f`). */
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|\d+)$/i;
const FORBIDDEN: readonly [RegExp, string][] = [
  [/@/, 'address has userinfo'],
  [/[/\\]/, 'address has a path'],
  [/\?/, 'address has a query'],
  [/#/, 'address has a fragment'],
  [/[^A-Za-z0-9._:[\]-]/, 'address has a character not allowed in a host or port'],
];

const fail = (reason: string): ParsedAddress => ({ ok: false, reason });

/**
 * Parses `host:port`, `[v6]:port`, `host` or `http(s)://host:port[/]`. No
 * scheme means http; no port means the scheme's default. Rejects userinfo,
 * paths, queries, unbracketed IPv6, bad ports and anything a URL parser would
 * reinterpret, so an address can only ever name a host and port.
 */
export function parseAddress(text: string): ParsedAddress {
  if (text.length === 0) return fail('address is empty');
  if (text.length > 300) return fail('address is longer than 300 characters');
  let scheme: 'http' | 'https' = 'http';
  let rest = text;
  const match = SCHEME.exec(text);
  if (match) {
    const name = match[1]!.toLowerCase();
    if (name !== 'http' && name !== 'https') return fail(`scheme "${name}" is not http or https`);
    scheme = name;
    rest = text.slice(match[0].length);
    if (rest.endsWith('/')) rest = rest.slice(0, -1);
  }
  for (const [pattern, reason] of FORBIDDEN) if (pattern.test(rest)) return fail(reason);
  const split = splitHostPort(rest);
  if ('reason' in split) return fail(split.reason);
  const host = normalizeHost(split.host, split.bracketed);
  if (host === undefined) return fail(`invalid host "${split.host}"`);
  const port = split.port === undefined ? (scheme === 'https' ? 443 : 80) : parsePort(split.port);
  if (port === undefined) return fail(`invalid port "${split.port}"`);
  const authority = `${host}:${port}`;
  return { ok: true, address: { scheme, host, port, authority, url: `${scheme}://${authority}` } };
}

function splitHostPort(text: string): { host: string; port: string | undefined; bracketed: boolean } | { reason: string } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { reason: 'unclosed "[" in address' };
    const after = text.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return { reason: 'unexpected text after "]"' };
    return { host: text.slice(1, close), port: after === '' ? undefined : after.slice(1), bracketed: true };
  }
  if (text.includes('[') || text.includes(']')) return { reason: 'misplaced bracket in address' };
  const parts = text.split(':');
  if (parts.length > 2) return { reason: 'IPv6 addresses need brackets, as in [::1]:8080' };
  return { host: parts[0]!, port: parts[1], bracketed: false };
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function normalizeHost(host: string, bracketed: boolean): string | undefined {
  if (bracketed) return normalizeIpv6(host);
  const v4 = IPV4.exec(host);
  if (v4) return v4.slice(1).every((octet) => Number(octet) <= 255 && (octet === '0' || !octet.startsWith('0'))) ? host : undefined;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  const labels = name.split('.');
  if (name.length === 0 || name.length > 253 || !labels.every((label) => LABEL.test(label))) return undefined;
  if (NUMERIC_LABEL.test(labels[labels.length - 1]!)) return undefined;
  return name.toLowerCase();
}

function normalizeIpv6(host: string): string | undefined {
  if (!/^[0-9A-Fa-f:.]{2,45}$/.test(host)) return undefined;
  try {
    return new URL(`http://[${host}]/`).hostname;
  } catch {
    return undefined;
  }
}
