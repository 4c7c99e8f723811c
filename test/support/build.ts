import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Vitest global setup: builds dist/ once, so tests that start the
 * `etcd-edge` command as a process run the code under test, not a stale build.
 */
export default function build(): void {
  const root = join(import.meta.dirname, '..', '..');
  const result = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`build for the CLI tests failed:\n${result.stdout}${result.stderr}`);
}
