import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The benchmarks are not run under npm test (they take an hour and need wrk,
// nginx and valgrind), so a typo in one would only show at the next
// `npm run bench`. This keeps them at least loadable.
const BENCH = new URL('../bench/', import.meta.url).pathname;
const scripts = (dir: string): string[] => readdirSync(join(BENCH, dir)).filter((f) => f.endsWith('.mjs')).map((f) => join(BENCH, dir, f));

describe('bench/', () => {
  it('has scripts, proxies, instances and load generators that parse', () => {
    const files = [...scripts('.'), ...scripts('proxies'), ...scripts('lib'), ...scripts('instances'), ...scripts('load')];
    expect(files.length).toBeGreaterThan(10);
    // Named so that removing or renaming one fails here, not at the next run.
    for (const name of ['compare.mjs', 'scale.mjs', 'grpc.mjs', 'websocket.mjs', 'cores.mjs']) expect(files, name).toContain(join(BENCH, '.', name));
    for (const file of files) {
      const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
      expect(check.status, `${file}: ${check.stderr}`).toBe(0);
    }
  });

  it('has helper modules that import (their dependencies resolve, nothing runs)', async () => {
    for (const file of scripts('lib')) {
      const module = (await import(file)) as Record<string, unknown>;
      expect(Object.keys(module).length, file).toBeGreaterThan(0);
    }
  });
});
