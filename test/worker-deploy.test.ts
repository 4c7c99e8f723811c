import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
/** The project's budget for the Worker bundle, gzipped at level 9 as BENCHMARKS.md measures it. */
const BUDGET_KIB = 64;

/**
 * wrangler.toml is a production template: `npm run worker:deploy -- --dry-run`
 * must bundle every environment it defines, with no network and no
 * Cloudflare login (HOME is an empty folder, no API token is set).
 */
describe('npm run worker:deploy -- --dry-run (the root wrangler.toml)', () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'etcd-edge-deploy-'));
  });

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it.each([
    ['the top-level environment', '', []],
    ['staging', 'staging', ['ETCD_ENDPOINTS', 'ETCD_EDGE_DEPLOYMENT ("edge-staging")']],
    ['production', 'production', ['ETCD_ENDPOINTS', 'ETCD_EDGE_DEPLOYMENT ("edge-prod")']],
  ])(
    'bundles %s within the size budget, with the hub bound',
    async (_, env, vars) => {
      const outdir = join(scratch, env || 'top');
      const run = await npm(['run', 'worker:deploy', '--', '--dry-run', '--outdir', outdir, '--env', env], scratch);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toContain('--dry-run: exiting now');
      // A field wrangler does not know, or one an environment should have repeated, is a warning.
      expect(run.output).not.toMatch(/WARNING|Processing .* configuration/);
      expect(run.output).toContain('env.ETCD_EDGE_HUB (SnapshotHub)');
      for (const v of vars) expect(run.output).toContain(`env.${v}`);

      const files = (await readdir(outdir)).filter((f) => /\.m?js$/.test(f));
      const code = Buffer.concat(await Promise.all(files.map((f) => readFile(join(outdir, f)))));
      // The Durable Object class and the fetch handler are what Cloudflare loads.
      expect(code.toString()).toMatch(/export\s*\{[^}]*\bas SnapshotHub\b[^}]*\bas default\b/);
      const gzipKiB = gzipSync(code, { level: 9 }).length / 1024;
      console.log(`worker bundle (${env || 'top-level'}): ${(code.length / 1024).toFixed(1)} KiB, ${gzipKiB.toFixed(1)} KiB gzipped (budget ${BUDGET_KIB} KiB)`);
      expect(gzipKiB).toBeLessThan(BUDGET_KIB);
    },
    120_000,
  );
});

/** Runs npm in the project with a bare environment: no Cloudflare credentials, an empty home, nothing sent. */
function npm(args: string[], home: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        CI: 'true',
        WRANGLER_SEND_METRICS: 'false',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
