import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { descendants, running } from './support/cli-process.js';
import { requireEtcdBinary } from './support/etcd-server.js';
import { until } from './support/until.js';

const ROOT = join(import.meta.dirname, '..');
const START = join(ROOT, 'scripts', 'start.mjs');
const LOOPBACK_LINE = 'loopback instances allowed (ETCD_EDGE_ALLOW_LOOPBACK=true, for development); production keeps them denied';
const dirs: string[] = [];
const children: ChildProcess[] = [];
/** Processes a test saw started, stopped after it whatever happened (a failure must not leave an etcd behind). */
const started: number[] = [];

afterEach(async () => {
  // SIGINT first, so a script stops its etcd even when an assertion failed.
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 5_000))]);
    child.kill('SIGKILL');
  }
  const left = started.splice(0).filter(running);
  for (const pid of left) process.kill(pid, 'SIGTERM');
  await until(() => left.every((pid) => !running(pid)), 5_000).catch(() => left.forEach((pid) => running(pid) && process.kill(pid, 'SIGKILL')));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs a command as a user would, with a fresh local etcd folder and none of the test's gateway settings. */
function launch(command: string, args: readonly string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-edge-start-'));
  dirs.push(dir);
  const base: NodeJS.ProcessEnv = { ...process.env, ETCD_EDGE_LOCAL_DIR: dir, ...env };
  for (const name of ['ETCD_ENDPOINTS', 'ETCD_EDGE_ALLOW_LOOPBACK', 'PORT']) if (!(name in env)) delete base[name];
  const child = spawn(command, args, { cwd: ROOT, env: base, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const run = { child, dir, output: '', exited: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))) };
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (run.output += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (run.output += s));
  return run;
}

it('npm run demo starts a private etcd, the gateway and three backends, shows the spread, and stops everything on Ctrl-C', async () => {
  requireEtcdBinary();
  const run = launch(process.execPath, [START, '--demo', '--port', '0']);
  await until(() => /Try: curl/.test(run.output) || run.child.exitCode !== null, 40_000);
  const etcd = /local etcd on (http:\/\/\S+)/.exec(run.output)?.[1];
  expect(etcd, run.output).toBeDefined();
  // Its backends are on 127.0.0.1, which a gateway denies unless told otherwise: it says so.
  expect(run.output).toContain(`\n${LOOPBACK_LINE}\n`);
  const counts = Object.fromEntries([...run.output.matchAll(/(demo-[abc])\s+weight \d\s+(\d+)/g)].map((m) => [m[1], Number(m[2])]));
  expect(counts['demo-a']! + counts['demo-b']! + counts['demo-c']!).toBe(1000);
  expect(counts['demo-a']).toBeGreaterThan(counts['demo-c']!);
  run.child.kill('SIGINT');
  expect(await run.exited).toBe(0);
  // The private etcd went with it.
  await expect(fetch(`${etcd}/health`)).rejects.toThrow();
}, 60_000);

it('under npm, the printed try-it steps work as printed, from any directory, and a SIGTERM to npm stops everything it started', async () => {
  requireEtcdBinary();
  // npm runs the script through `sh -c` and forwards SIGTERM to that shell only, as with `npm start` and `npx`.
  const run = launch('npm', ['exec', '--offline', '--', 'node', START, '--port', '0']);
  await until(() => /Ctrl-C stops|listening on/.test(run.output) || run.child.exitCode !== null, 60_000);
  const tree = descendants(run.child.pid!);
  started.push(...tree);
  await until(() => /Ctrl-C stops/.test(run.output) || run.child.exitCode !== null, 10_000);
  // A try-it gateway listens on this machine only.
  const gateway = /listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(run.output)?.[1];
  expect(gateway, run.output).toBeDefined();
  expect(run.output).toContain(`\n${LOOPBACK_LINE}\n`);
  const etcd = /local etcd on (http:\/\/\S+)/.exec(run.output)![1]!;
  const backend = /A hello backend answers on (http:\/\/127\.0\.0\.1:\d+)\./.exec(run.output)?.[1];
  const register = /^ {2}(node \S+ register hello \S+ --etcd \S+)$/m.exec(run.output)?.[1];
  const curl = /^ {2}curl -i (\S+)$/m.exec(run.output)?.[1];
  expect({ backend, register, curl }, run.output).toEqual({ backend: expect.any(String), register: expect.any(String), curl: `${gateway}/svc/hello/` });

  const registrar = spawn('sh', ['-c', `exec ${register}`], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(registrar);
  let registered = '';
  registrar.stdout!.setEncoding('utf8').on('data', (s: string) => (registered += s));
  await until(() => registered.includes('registered '), 15_000);
  await until(async () => (await fetch(curl!)).status === 200, 5_000);
  expect(await (await fetch(curl!)).json()).toEqual({ hello: 'from the etcd-edge try-it backend', method: 'GET', path: '/' });
  registrar.kill('SIGTERM');

  expect(tree.length, 'sh or node, and etcd').toBeGreaterThanOrEqual(2);
  run.child.kill('SIGTERM');
  await run.exited;
  await until(() => tree.every((pid) => !running(pid)), 10_000);
  for (const url of [gateway!, backend!, `${etcd}/health`]) await expect(fetch(url), url).rejects.toThrow();
}, 90_000);

it('says at once that the port is in use and how to choose another, before starting etcd', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as AddressInfo).port;
  try {
    const flag = launch(process.execPath, [START, '--port', String(port)]);
    const variable = launch(process.execPath, [START], { PORT: String(port), npm_lifecycle_event: 'start' });
    expect(await flag.exited).toBe(1);
    expect(await variable.exited).toBe(1);
    const inUse = `etcd-edge: port ${port} is already in use on 127.0.0.1: stop what listens there, or choose another:`;
    expect(flag.output).toBe(`${inUse} add --port ${port + 1}\n`);
    expect(variable.output).toBe(`${inUse} PORT=${port + 1} npm start (or npm start -- --port ${port + 1})\n`);
    for (const run of [flag, variable]) expect(existsSync(join(run.dir, 'etcd-data'))).toBe(false);
  } finally {
    busy.close();
  }
});
