import type { RunningGateway } from './gateway-scenarios.js';
import { CliProcess } from './cli-process.js';
import { until } from './until.js';

/** `etcd-edge serve` in its own process on a free port; `close` sends SIGTERM and expects a clean exit. */
export async function startServeProcess(env: Record<string, string>, args: readonly string[] = []): Promise<RunningGateway & { process: CliProcess }> {
  const process = new CliProcess(['serve', '--port', '0', '--host', '127.0.0.1', ...args], env);
  await until(() => /listening on http/.test(process.stdout) || process.child.exitCode !== null, 15_000);
  const url = /listening on (https?:\/\/\S+)/.exec(process.stdout)?.[1];
  if (!url) throw new Error(`etcd-edge serve did not start:\n${process.stderr}`);
  return {
    url,
    pid: process.child.pid!,
    process,
    async close() {
      const { code } = await process.kill('SIGTERM');
      if (code !== 0) throw new Error(`etcd-edge serve exited with ${code}:\n${process.stderr}`);
    },
  };
}
