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
