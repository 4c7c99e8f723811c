import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports.js';

const ETCD_BIN = process.env.ETCD_BIN ?? 'etcd';

/** Fails loudly (never skips) when etcd is missing, saying how to install it. */
export function requireEtcdBinary(): string {
  const probe = spawnSync(ETCD_BIN, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `etcd not found (${ETCD_BIN}): the real-etcd tests need it. ` +
        `Install Debian's etcd-server (apt-get update && apt-get install -y etcd-server) or set ETCD_BIN.`,
    );
  }
  return /etcd Version: (\S+)/.exec(probe.stdout)?.[1] ?? 'unknown';
}

export interface MemberSpec {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
}

export interface EtcdMember {
  readonly spec: MemberSpec;
  readonly endpoint: string;
  readonly running: boolean;
  /** Starts the process again on the same ports and data dir. */
  start(): Promise<void>;
  /** SIGKILL (default) or SIGTERM, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface EtcdCluster {
  readonly members: EtcdMember[];
  readonly endpoints: string[];
  close(): Promise<void>;
}

export interface EtcdStartOptions {
  size?: number;
  /** Seconds a simple auth token stays valid while unused. */
  authTokenTtl?: number;
  /** Serve clients over HTTPS with these PEM files, requiring client certificates signed by `caFile`. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

/** Starts a single etcd server or an n-member cluster on free loopback ports with temp data dirs. */
export async function startEtcd(options: EtcdStartOptions = {}): Promise<EtcdCluster> {
  requireEtcdBinary();
  const size = options.size ?? 1;
  const root = await mkdtemp(join(tmpdir(), 'etcd-edge-test-'));
  let members: Member[] = [];
  // A port free a moment ago may be taken before etcd binds it (by another test file's listener): new ports then.
  for (let tries = 1; ; tries++) {
    members = await membersOn(root, size, options, tries);
    const started = await Promise.allSettled(members.map((m) => m.start()));
    const failed = started.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed.length === 0) break;
    await Promise.all(members.map((m) => m.stop('SIGKILL')));
    // In a cluster the other members then fail for want of a quorum: any member's taken port is reason to retry.
    if (tries === 3 || !failed.some((f) => /address already in use/.test(String(f.reason)))) {
      await rm(root, { recursive: true, force: true });
      throw failed[0]!.reason;
    }
  }
  return {
    members,
    endpoints: members.map((m) => m.endpoint),
    async close() {
      await Promise.all(members.map((m) => m.stop('SIGKILL')));
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** `size` members on fresh ports, their data in `root` (directories of their own per try, so a failed try leaves no cluster state behind). */
async function membersOn(root: string, size: number, options: EtcdStartOptions, tryNumber: number): Promise<Member[]> {
  const specs: MemberSpec[] = [];
  for (let i = 0; i < size; i++) {
    specs.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(root, `try${tryNumber}-m${i}`) });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  return specs.map((spec) => new Member(spec, initialCluster, options));
}

class Member implements EtcdMember {
  readonly endpoint: string;
  #process: ChildProcess | undefined;
  #log: string[] = [];

  constructor(
    readonly spec: MemberSpec,
    private readonly initialCluster: string,
    private readonly options: EtcdStartOptions,
  ) {
    this.endpoint = `${options.tls ? 'https' : 'http'}://127.0.0.1:${spec.clientPort}`;
  }

  get running(): boolean {
    return this.#process !== undefined;
  }

  async start(): Promise<void> {
    const { name, clientPort, peerPort, dataDir } = this.spec;
    const args = [
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${this.endpoint}`,
      `--advertise-client-urls=${this.endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=${this.initialCluster}`,
      '--initial-cluster-state=new',
      '--initial-cluster-token=etcd-edge-test',
      // Short raft timers keep elections and the minimum lease TTL (1 s) short.
      '--heartbeat-interval=50',
      '--election-timeout=500',
      '--logger=zap',
      '--log-level=warn',
      ...(this.options.authTokenTtl === undefined ? [] : [`--auth-token-ttl=${this.options.authTokenTtl}`]),
      ...tlsArgs(this.options.tls),
    ];
    const child = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => this.#log.push(chunk.toString()));
    child.once('exit', () => {
      if (this.#process === child) this.#process = undefined;
    });
    this.#process = child;
    try {
      await this.#waitReady(child);
    } catch (error) {
      // Not left running (and using a core) for the rest of the suite.
      await this.stop('SIGKILL');
      throw error;
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#process;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.#process = undefined;
  }

  async #waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`etcd ${this.spec.name} exited: ${this.#log.join('').slice(-2000)}`);
      if (this.options.tls) {
        if (await tlsListening(this.spec.clientPort)) return;
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      try {
        // Bounded: a port taken by another listener may accept and never answer.
        const res = await fetch(`${this.endpoint}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2_000) });
        const body = (await res.json()) as { leader?: string; error?: string };
        if (res.ok && body.leader && body.leader !== '0') return;
        // With auth on, status needs a token; any etcd JSON answer means it is serving.
        if (body.error !== undefined && !/not leader|no leader|unavailable/i.test(body.error)) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`etcd ${this.spec.name} not ready within 15 s: ${this.#log.join('').slice(-2000)}`);
  }
}

function tlsArgs(tls: EtcdStartOptions['tls']): string[] {
  if (!tls) return [];
  return [`--cert-file=${tls.certFile}`, `--key-file=${tls.keyFile}`, `--trusted-ca-file=${tls.caFile}`, '--client-cert-auth=true'];
}

/** True once something accepts TCP connections on the port (a TLS etcd needs a client cert to say more). */
function tlsListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
