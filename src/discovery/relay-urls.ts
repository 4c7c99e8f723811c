/**
 * The relay URLs a gateway reads, in the order to try them: from the one that
 * last answered, those set aside after a failure last (still tried, so a blip
 * on every relay at once does not block reads for the whole cooldown).
 */
export class RelayUrls {
  readonly urls: readonly string[];
  #current: number;
  readonly #downUntil: number[];
  readonly #now: () => number;

  constructor(urls: readonly string[], now: () => number, random: () => number) {
    if (urls.length === 0) throw new TypeError('at least one relay URL is required');
    this.urls = urls.map(normalizeRelayUrl);
    this.#current = Math.floor(random() * this.urls.length);
    this.#downUntil = this.urls.map(() => 0);
    this.#now = now;
  }

  /**
   * Indexes to try, healthy first. A single URL is tried twice: a pooled
   * keep-alive connection the relay already closed fails the first attempt
   * without saying anything about the relay.
   */
  order(): number[] {
    const now = this.#now();
    const healthy: number[] = [];
    const down: number[] = [];
    for (let i = 0; i < this.urls.length; i++) {
      const index = (this.#current + i) % this.urls.length;
      (this.#downUntil[index]! > now ? down : healthy).push(index);
    }
    const order = healthy.concat(down);
    return order.length === 1 ? [order[0]!, order[0]!] : order;
  }

  answered(index: number): void {
    this.#current = index;
    this.#downUntil[index] = 0;
  }

  /** Sets a URL aside for `ms`. */
  markDown(index: number, ms: number): void {
    this.#downUntil[index] = Math.max(this.#downUntil[index]!, this.#now() + ms);
  }

  /** How many URLs are set aside now. */
  get downCount(): number {
    const now = this.#now();
    return this.#downUntil.filter((until) => until > now).length;
  }
}

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
