// A private etcd for `npm start` and `npm run demo`: found on PATH, installed
// from Debian's etcd-server when missing and running as root, data kept under
// .etcd-edge/ (git-ignored; ETCD_EDGE_LOCAL_DIR to move it) so registrations
// survive a restart.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

function onPath(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim() || undefined;
}

/** The etcd binary, installing Debian's package when allowed. */
export function findEtcd(log) {
  const found = onPath('etcd');
  if (found) return found;
  if (process.getuid?.() !== 0 || !onPath('apt-get')) {
    throw new Error(
      'etcd is not installed. Install it (Debian/Ubuntu: sudo apt-get install etcd-server) ' +
        'or point the gateway at a running etcd with ETCD_ENDPOINTS=http://host:2379',
    );
  }
  log('etcd is not installed: installing Debian\'s etcd-server (apt-get)...');
  for (const args of [['update'], ['install', '-y', 'etcd-server']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed`);
  }
  // Debian starts the packaged service; this private etcd uses its own ports and data.
  spawnSync('sh', ['-c', 'systemctl stop etcd 2>/dev/null || service etcd stop 2>/dev/null || true']);
  const installed = onPath('etcd');
  if (!installed) throw new Error('etcd-server was installed but etcd is not on PATH');
  return installed;
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function pickPort(preferred) {
  if (await portFree(preferred)) return preferred;
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * An etcd left running by a start that was killed outright holds the data
 * dir's lock: stop it, unless the start that owns it is still running.
 */
function stopOrphan(pidFile, log) {
  let etcdPid;
  let ownerPid;
  try {
    [etcdPid, ownerPid] = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
  } catch {
    return;
  }
  if (ownerPid > 0 && ownerPid !== process.pid && alive(ownerPid)) {
    throw new Error(`another npm start (pid ${ownerPid}) is using ${dirname(pidFile)}; stop it first, or set ETCD_EDGE_LOCAL_DIR to another folder`);
  }
  try {
    if (etcdPid > 0 && readFileSync(`/proc/${etcdPid}/cmdline`, 'utf8').includes('etcd-edge-local')) {
      process.kill(etcdPid, 'SIGKILL');
      log(`stopped a local etcd left running by an earlier start (pid ${etcdPid})`);
    }
  } catch {
    // gone already
  }
  rmSync(pidFile, { force: true });
}

/** Starts etcd on 127.0.0.1 (2379 when free) with its data under `dir`, and resolves once it answers. */
export async function startLocalEtcd(dir, log) {
  const bin = findEtcd(log);
  const dataDir = join(dir, 'etcd-data');
  const pidFile = join(dir, 'etcd.pid');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  stopOrphan(pidFile, log);
  await new Promise((r) => setTimeout(r, 100));
  const clientPort = await pickPort(2379);
  const peerPort = await pickPort(clientPort === 2379 ? 2380 : 0);
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const child = spawn(
    bin,
    [
      '--name=etcd-edge-local',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=etcd-edge-local=http://127.0.0.1:${peerPort}`,
      '--log-level=error',
      '--logger=zap',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  writeFileSync(pidFile, `${child.pid} ${process.pid}`);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/health`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`etcd did not start (data in ${dataDir}):\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    dataDir,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(pidFile, { force: true });
    },
  };
}
