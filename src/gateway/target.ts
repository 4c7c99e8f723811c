import { isServiceName } from '../registry/index.js';

export const SERVICE_PREFIX = '/svc/';

export type Target = { ok: true; service: string; path: string } | { ok: false; message: string };

/** `.` or `..` as a path segment, written plainly or percent-encoded. */
export const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)/i;
/** Characters that some servers read as a separator once decoded, or never belong in a path (NUL, encoded or raw, and the other control characters). */
const SMUGGLED = /%2f|%5c|%00|[\\\x00-\x1f\x7f]/i;

/**
 * Splits a request path `/svc/{service}{rest}` (as received, still
 * percent-encoded) into the service and the path to send on. Refuses what
 * could make the path mean another service or host once someone decodes or
 * normalizes it: dot segments, encoded slashes and backslashes, NUL and
 * other control characters.
 */
export function parseTarget(rawPath: string): Target {
  if (!rawPath.startsWith(SERVICE_PREFIX)) return { ok: false, message: 'path must start with /svc/{service}' };
  const rest = rawPath.slice(SERVICE_PREFIX.length);
  const slash = rest.indexOf('/');
  const service = slash === -1 ? rest : rest.slice(0, slash);
  if (!isServiceName(service)) {
    return { ok: false, message: 'service name must be 1-128 characters of A-Z a-z 0-9 . _ - and not . or ..' };
  }
  const path = slash === -1 ? '/' : rest.slice(slash);
  if (DOT_SEGMENT.test(path) || SMUGGLED.test(path)) {
    return { ok: false, message: 'path must not contain dot segments, encoded slashes, backslashes or control characters' };
  }
  return { ok: true, service, path };
}

/** The path part of a request-target or URL, without the query. */
export function pathOf(target: string): string {
  let start = 0;
  if (!target.startsWith('/')) {
    const scheme = target.indexOf('://');
    start = scheme === -1 ? 0 : target.indexOf('/', scheme + 3);
    if (start === -1) return '/';
  }
  const query = target.indexOf('?', start);
  const hash = target.indexOf('#', start);
  const end = Math.min(query === -1 ? target.length : query, hash === -1 ? target.length : hash);
  return target.slice(start, end);
}
