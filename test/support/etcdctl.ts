import { spawnSync } from 'node:child_process';

const ETCDCTL_BIN = process.env.ETCDCTL_BIN ?? 'etcdctl';

/**
 * Runs etcdctl (v3 API) against `endpoints` and returns its stdout. Fails
 * loudly, never skips, when etcdctl is missing or the command fails.
 */
export function etcdctl(endpoints: readonly string[], ...args: string[]): string {
  const result = spawnSync(ETCDCTL_BIN, [`--endpoints=${endpoints.join(',')}`, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 10_000,
  });
  if (result.error) {
    throw new Error(`etcdctl not found (${ETCDCTL_BIN}): install Debian's etcd-client (apt-get install -y etcd-client) or set ETCDCTL_BIN`);
  }
  if (result.status !== 0) throw new Error(`etcdctl ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** Grants a lease with etcdctl and returns its ID as a decimal string, as the JSON gateway shows it. */
export function etcdctlLease(endpoints: readonly string[], ttl: number): string {
  const out = etcdctl(endpoints, 'lease', 'grant', String(ttl));
  const hex = /lease ([0-9a-f]+) granted/.exec(out)?.[1];
  if (!hex) throw new Error(`unexpected etcdctl output: ${out}`);
  return BigInt(`0x${hex}`).toString();
}
