/** Validates a relay URL (http(s), no credentials) and drops a trailing slash; the raw text is never echoed, it may carry a secret. */
export function normalizeRelayUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new TypeError('invalid relay URL: expected http(s)://host:port');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`relay URL must be http(s), not ${url.protocol}`);
  if (url.username || url.password) throw new TypeError('relay URLs must not contain credentials; the token goes in its own setting');
  return url.origin + url.pathname.replace(/\/+$/, '');
}
