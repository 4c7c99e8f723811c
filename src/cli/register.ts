import { register, type RegistrarEvent } from '../discovery/index.js';
import { sleep } from '../etcd/index.js';
import { MAX_WEIGHT } from '../registry/index.js';
import { expectArgs, numberFlag, tagsFlag, type Flags } from './args.js';
import { connect, singleLayout } from './connect.js';
import type { CliContext } from './context.js';
import { describeError } from './errors.js';
import { formatTags, leaseHex } from './format.js';
import { printable, safeLine } from './printable.js';

const CLOSE_TIMEOUT_MS = 5_000;

/** `etcd-edge register`: stays in the foreground until SIGINT/SIGTERM, then deregisters. */
export async function registerCommand(positionals: readonly string[], flags: Flags, ctx: CliContext): Promise<number> {
  const [service, url] = expectArgs(positionals, ['service', 'url']) as [string, string];
  const weight = numberFlag(flags.weight, 'weight', 1, { min: 0, max: MAX_WEIGHT });
  const ttl = numberFlag(flags.ttl, 'ttl', 10, { min: 1, max: 86_400, integer: true });
  const tags = tagsFlag(flags.tag);
  const layout = singleLayout(flags, ctx);
  const etcd = connect(flags, ctx.env);
  const log = (text: string): void => void ctx.err.write(`${new Date().toISOString()} ${safeLine(text)}\n`);
  const instance = await register(etcd, {
    service,
    url,
    weight,
    tags,
    ttl,
    layout,
    ...(flags.id === undefined ? {} : { id: flags.id }),
    signal: ctx.signal,
    onEvent: (event) => {
      const text = describeEvent(event, etcd.endpoints);
      if (text) log(text);
    },
  });
  ctx.out.write(
    `registered ${printable(instance.key)} -> ${printable(url)} (weight ${weight}, tags ${formatTags(tags)}, lease ${leaseHex(instance.leaseId)}, ttl ${ttl}s)\n`,
  );
  const stopped = new Promise<'signal'>((resolve) => {
    if (ctx.signal.aborted) resolve('signal');
    ctx.signal.addEventListener('abort', () => resolve('signal'), { once: true });
  });
  const outcome = await Promise.race([stopped, instance.done.then(() => 'closed' as const, () => 'gave-up' as const)]);
  if (outcome === 'gave-up') {
    ctx.err.write(`etcd-edge: gave up keeping ${printable(instance.key)} registered\n`);
    return 1;
  }
  // A shutdown must not hang on an unreachable etcd: the lease expires by itself.
  const closing = instance.close().then(
    () => undefined,
    (error: unknown) => describeError(error, etcd.endpoints),
  );
  const failure = await Promise.race([closing, sleep(CLOSE_TIMEOUT_MS).then(() => `no answer in ${CLOSE_TIMEOUT_MS / 1_000}s`)]);
  if (failure !== undefined) {
    ctx.err.write(`etcd-edge: could not deregister ${printable(instance.key)}: ${safeLine(failure)}; it expires with its lease within ${ttl}s\n`);
    return 1;
  }
  ctx.out.write(`deregistered ${printable(instance.key)}\n`);
  return 0;
}

function describeEvent(event: RegistrarEvent, endpoints: readonly string[]): string | undefined {
  switch (event.type) {
    case 'keepalive-failed':
      return `keepalive failed: ${describeError(event.error, endpoints)}`;
    case 'keepalive-recovered':
      return 'keepalive recovered';
    case 'lost':
      return `registration lost (${event.reason}); registering again`;
    case 'retry-failed':
      return event.attempt === 1 ? `registering again failed: ${describeError(event.error, endpoints)}; retrying` : undefined;
    case 're-registered':
      return `registered again under lease ${leaseHex(event.leaseId)} after ${event.attempts} attempt(s)`;
    case 'gave-up':
      return `gave up after ${event.attempts} attempt(s): ${describeError(event.error, endpoints)}`;
    default:
      return undefined;
  }
}
