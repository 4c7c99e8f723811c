// Child processes of a benchmark: each is started in its own process group so
// that the whole tree (nginx's workers, wrangler's workerd) dies with it, and
// every one is killed when the benchmark exits, fails or is interrupted.
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

const groups = new Set();

function killAll() {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  groups.clear();
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

/**
 * Starts `command` in a new process group, on the given CPU cores when `cpus`
 * is set (taskset execs the command, so the pid is the command's own).
 * `env` adds to this process's environment, or replaces it with `inheritEnv: false`.
 * Output is kept for error messages.
 */
export function spawnChild(command, args, { env = {}, inheritEnv = true, cpus, cwd } = {}) {
  const [file, argv] = cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
  const proc = spawn(file, argv, { env: inheritEnv ? { ...process.env, ...env } : env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d) => {
    out += d;
    if (out.length > 64_000) out = out.slice(-32_000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  groups.add(proc.pid);
  let exited = false;
  const exit = new Promise((resolve) => proc.on('exit', (code, signal) => {
    exited = true;
    groups.delete(proc.pid);
    resolve({ code, signal });
  }));
  return {
    pid: proc.pid,
    output: () => out,
    exited: () => exited,
    exit,
    /** Ends the whole group; resolves when the direct child is gone. */
    async stop(signal = 'SIGKILL') {
      if (exited) return;
      try {
        process.kill(-proc.pid, signal);
      } catch {
        // already gone
      }
      await exit;
    },
  };
}

/** Runs a command to completion; resolves with its output, rejects on a non-zero exit. */
export async function run(command, args, options) {
  const child = spawnChild(command, args, options);
  const { code, signal } = await child.exit;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}:\n${child.output().slice(-2_000)}`);
  return child.output();
}

export const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Whether something accepts TCP connections on loopback `port` (for servers that answer no HTTP/1.1 GET). */
export const accepts = (port) =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it resolves truthy; `child`, when given, fails fast if it exits. */
export async function waitFor(check, what, { ms = 20_000, child } = {}) {
  const end = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (child?.exited()) throw new Error(`${what} exited:\n${child.output().slice(-2_000)}`);
    if (Date.now() > end) throw new Error(`${what} did not start${child ? `:\n${child.output().slice(-2_000)}` : ''}`);
    await sleep(50);
  }
}
