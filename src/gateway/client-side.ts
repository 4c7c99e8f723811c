import type { HashKeySource } from './config.js';
import { parseIp } from './ip.js';
import { fieldValue } from './fields.js';

/**
 * An address a runtime gave, when it is a real IP literal; IPv4-mapped IPv6 as plain IPv4.
 * `isLiteral` may be the runtime's own, faster check (Node's `net.isIP`).
 */
export function validIp(ip: string | undefined, isLiteral = (text: string) => parseIp(text) !== undefined): string | undefined {
  if (ip === undefined || !isLiteral(ip)) return undefined;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** The `hash` strategy's key for this request. */
export function hashKeyOf(source: HashKeySource, fields: readonly string[], ip: string | undefined): string | undefined {
  switch (source.from) {
    case 'ip':
      return ip;
    case 'header':
      return fieldValue(fields, source.name) || undefined;
    case 'cookie':
      return cookie(fieldValue(fields, 'cookie'), source.name);
  }
}

function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}
