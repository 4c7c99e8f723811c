import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { requireEtcdBinary } from './support/etcd-server.js';
import { until } from './support/until.js';

const START = join(import.meta.dirname, '..', 'scripts', 'start.mjs');

it('npm run demo starts a private etcd, the gateway and three backends, shows the spread, and stops everything on Ctrl-C', async () => {
  requireEtcdBinary();
  const dir = mkdtempSync(join(tmpdir(), 'etcd-edge-start-'));
  const env: NodeJS.ProcessEnv = { ...process.env, ETCD_EDGE_LOCAL_DIR: dir };
  delete env.ETCD_ENDPOINTS;
  const child = spawn(process.execPath, [START, '--demo', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await until(() => /Try: curl/.test(output) || child.exitCode !== null, 40_000);
    const etcd = /local etcd on (http:\/\/\S+)/.exec(output)?.[1];
    expect(etcd, output).toBeDefined();
    const counts = Object.fromEntries([...output.matchAll(/(demo-[abc])\s+weight \d\s+(\d+)/g)].map((m) => [m[1], Number(m[2])]));
    expect(counts['demo-a']! + counts['demo-b']! + counts['demo-c']!).toBe(1000);
    expect(counts['demo-a']).toBeGreaterThan(counts['demo-c']!);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // The private etcd went with it.
    await expect(fetch(`${etcd}/health`)).rejects.toThrow();
  } finally {
    // SIGINT first, so the script stops its etcd even when an assertion failed.
    if (child.exitCode === null) child.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
