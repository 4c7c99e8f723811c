/**
 * The Fetch standard's bad ports ("port blocking"): a conforming `fetch`
 * refuses http(s) URLs on these ports before connecting (Node's undici says
 * only "bad port"), so an etcd endpoint on one can never be reached. The list
 * as of the standard's 2025 revision, which added 0 (4190 and 6679 came in 2024).
 */
const BAD_PORTS: ReadonlySet<number> = new Set([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
  111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540,
  548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566,
  6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/**
 * The port of an http(s) URL when it is one `fetch` refuses, else undefined
 * (also for a URL that does not parse: that has its own error elsewhere).
 *
 * @example
 * refusedPort('http://127.0.0.1:6000/v3/kv/range') // 6000
 * refusedPort('http://127.0.0.1:2379') // undefined
 */
export function refusedPort(url: string): number | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  // A default port (80, 443) is the empty string here, and never a bad one.
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.port === '') return undefined;
  const port = Number(parsed.port);
  return BAD_PORTS.has(port) ? port : undefined;
}

/** Why an endpoint on `port` cannot be reached, in words for a person choosing a port. */
export function badPortText(port: number): string {
  return `fetch refuses to connect to port ${port}, a "bad port" in the Fetch standard; use another port`;
}

/** The problem with an etcd endpoint URL's port, or undefined when fetch accepts it: for config validation. */
export function endpointPortProblem(url: string): string | undefined {
  const port = refusedPort(url.trim());
  return port === undefined ? undefined : badPortText(port);
}
