/** Polls `check` every 20 ms until it holds; fails after `ms`. Resolves with the time it took. */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}
