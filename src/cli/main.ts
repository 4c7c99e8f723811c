import { readFileSync } from 'node:fs';
import { RegistrationConflictError } from '../discovery/index.js';
import { EtcdError } from '../etcd/index.js';
import { RegistryError } from '../registry/index.js';
import { COMMANDS, parseCommandLine } from './args.js';
import { endpointsFrom } from './connect.js';
import type { CliContext, Output } from './context.js';
import { deregisterCommand } from './deregister.js';
import { describeError, UsageError } from './errors.js';
import { lsCommand } from './ls.js';
import { safeLine } from './printable.js';
import { registerCommand } from './register.js';
import { relayCommand } from './relay.js';
import { serveCommand } from './serve.js';
import { USAGE } from './usage.js';
import { watchCommand } from './watch.js';

export type { CliContext, Output } from './context.js';
export { watchParent } from './parent-watch.js';

const RUN = { serve: serveCommand, relay: relayCommand, register: registerCommand, deregister: deregisterCommand, ls: lsCommand, watch: watchCommand } as const;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Runs the CLI with `argv` (without node and the script); resolves with the
 * exit code: 0 done, 1 failed (one line on stderr), 2 bad arguments (one line and a
 * pointer to `--help`).
 */
export async function main(argv: readonly string[], context: Partial<CliContext> = {}): Promise<number> {
  const ctx: CliContext = {
    out: context.out ?? process.stdout,
    err: context.err ?? process.stderr,
    env: context.env ?? process.env,
    signal: context.signal ?? new AbortController().signal,
  };
  try {
    const { positionals, flags } = parseCommandLine(argv);
    const [command] = positionals;
    if (flags.version && command === undefined) {
      ctx.out.write(`${version()}\n`);
      return 0;
    }
    if (command === undefined || flags.help) {
      (command === undefined && !flags.help ? ctx.err : ctx.out).write(USAGE);
      return command === undefined && !flags.help ? 2 : 0;
    }
    if (!(command in RUN)) throw new UsageError(`unknown command ${JSON.stringify(command)}; commands: ${COMMANDS.join(', ')}`);
    return await RUN[command as keyof typeof RUN](positionals, flags, ctx);
  } catch (error) {
    return report(error, argv, ctx);
  }
}

function report(error: unknown, argv: readonly string[], ctx: CliContext): number {
  if (ctx.signal.aborted) return 130; // interrupted by SIGINT/SIGTERM: nothing to explain
  // A name, URL or weight no layout can hold is a bad argument too.
  if (error instanceof UsageError || error instanceof RegistryError) {
    ctx.err.write(`etcd-edge: ${safeLine(error.message)}\nsee etcd-edge --help\n`);
    return 2;
  }
  const known = error instanceof EtcdError || error instanceof RegistrationConflictError;
  let endpoints: string[] = [];
  try {
    endpoints = endpointsFrom(parseCommandLine(argv).flags, ctx.env);
  } catch {
    // Already reported as a usage error, or nothing to name.
  }
  ctx.err.write(`etcd-edge: ${safeLine(describeError(error, endpoints))}\n`);
  if (!known && ctx.env.ETCD_EDGE_DEBUG && error instanceof Error) ctx.err.write(`${error.stack}\n`);
  return 1;
}
