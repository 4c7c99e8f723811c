import type { Context } from 'hono';
import type { HashKeySource } from './config.js';
import { parseIp } from './ip.js';
import { fieldValue } from './fields.js';

/** What a runtime tells the gateway about a request beyond the `Request` itself. */
export interface RuntimeHooks {
  /** The client's address as the runtime knows it (socket peer, `cf-connecting-ip`, Lambda source IP). */
  clientIp(c: Context): string | undefined;
  /** The edge's zone for this request (a Worker's colo); the configured zone otherwise. */
  zone?(c: Context): string | undefined;
  /** The request-target as received, before the runtime normalized it, to refuse dot segments. */
  rawPath?(c: Context): string | undefined;
  /** Keeps background work alive after the response (a Worker's `ctx.waitUntil`). */
  waitUntil?(c: Context): ((promise: Promise<unknown>) => void) | undefined;
  /**
   * The runtime may still replace the answer (Lambda's result limit), so it
   * writes each request's access log line itself, from `accessRecordOf`.
   */
  logsAnswers?: boolean;
}

/** The client's address if the runtime gave a real IP literal (never a forged header). */
export function clientIpOf(hooks: RuntimeHooks, c: Context): string | undefined {
  return validIp(hooks.clientIp(c));
}

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
