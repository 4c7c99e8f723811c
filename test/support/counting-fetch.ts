import type { FetchLike } from '../../src/index.js';

/** The global fetch, counting requests by path: the seam where etcd calls are counted. */
export function countingFetch(): { fetch: FetchLike; count: (path: string) => number } {
  const counts = new Map<string, number>();
  return {
    fetch: (url, init) => {
      const path = new URL(url).pathname;
      counts.set(path, (counts.get(path) ?? 0) + 1);
      return fetch(url, init);
    },
    count: (path) => counts.get(path) ?? 0,
  };
}

/** Polls `check` every 20 ms until it holds; fails after `ms`. Returns the time it took. */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}
