/** Most pairs an `x-edge-tags` header may carry. */
export const MAX_TAG_PAIRS = 16;
/** Longest `x-edge-tags` header accepted, in characters. */
export const MAX_TAGS_LENGTH = 1024;

/**
 * Reads the `x-edge-tags` request header, `k=v,k2=v2`, spaces around names and values
 * trimmed. Undefined for a malformed header (a pair without `=`, an empty key, a key
 * given twice, more than 16 pairs, more than 1024 characters): the gateway answers 400.
 * An empty or blank header is no tags, `{}`.
 *
 * @example
 * ```ts
 * parseTags('version = v2, canary=true'); // { version: 'v2', canary: 'true' }
 * parseTags('version');                   // undefined
 * ```
 */
export function parseTags(header: string): Record<string, string> | undefined {
  if (header.length > MAX_TAGS_LENGTH) return undefined;
  const tags: Record<string, string> = Object.create(null) as Record<string, string>;
  if (header.trim() === '') return tags;
  const pairs = header.split(',');
  if (pairs.length > MAX_TAG_PAIRS) return undefined;
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 0) return undefined;
    const key = pair.slice(0, eq).trim();
    if (key === '' || Object.hasOwn(tags, key)) return undefined;
    tags[key] = pair.slice(eq + 1).trim();
  }
  return tags;
}
