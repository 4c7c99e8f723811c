// The load generator and the backend come from Debian: installed on demand
// (as root) the first time the benchmark runs, like the tests' etcd.
import { execFileSync, spawnSync } from 'node:child_process';

/** Whether `command` is found on PATH. */
export const onPath = (command) => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const apt = (args) => execFileSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });

/** Installs wrk and nginx from Debian when they are missing; throws how to when not root. */
export function ensureTools() {
  const missing = [['wrk', 'wrk'], ['nginx', 'nginx-light'], ['taskset', 'util-linux']].filter(([command]) => !onPath(command));
  if (missing.length === 0) return;
  const packages = missing.map(([, pkg]) => pkg);
  if (process.getuid?.() !== 0) throw new Error(`the benchmark needs ${missing.map(([c]) => c).join(', ')}: sudo apt-get install -y ${packages.join(' ')}`);
  console.error(`installing Debian's ${packages.join(', ')}`);
  apt(['update', '-qq']);
  try {
    apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
  } catch {
    // Newer Debian releases fold nginx-light into nginx.
    apt(['install', '-y', '-qq', '--no-install-recommends', ...packages.map((p) => (p === 'nginx-light' ? 'nginx' : p))]);
  }
}

/** The first line a command prints about its version (some print it on stderr, or exit non-zero). */
export function versionOf(command, args) {
  const { stdout, stderr } = spawnSync(command, args, { encoding: 'utf8' });
  return `${stdout ?? ''}${stderr ?? ''}`.trim().split('\n')[0];
}
