import { getRequestListener } from '@hono/node-server';
import { nodeRelay, relayResolver, startNodeRelay, type NodeMount } from '../adapters/node/index.js';
import type { Resolver } from '../discovery/index.js';
import type { EtcdClient } from '../etcd/index.js';
import { ConfigError } from '../gateway/index.js';
import { relayConfig, type RelayConfig, type SnapshotRelay } from '../relay/index.js';
import { expectArgs, numberFlag, type Flags } from './args.js';
import { connect, endpointsFrom, layoutsFrom } from './connect.js';
import type { CliContext } from './context.js';
import { listenFailure } from './listening.js';
import { safeLine } from './printable.js';

/** `etcd-edge relay`: the snapshot relay on Node until SIGINT/SIGTERM, then a drain. */
export async function relayCommand(positionals: readonly string[], flags: Flags, ctx: CliContext): Promise<number> {
  expectArgs(positionals, []);
  const port = numberFlag(flags.port, 'port', 8790, { min: 0, max: 65_535, integer: true });
  const drainMs = numberFlag(flags.drain, 'drain', 10_000, { min: 0, max: 600_000, integer: true });
  const config = configOf(ctx.env);
  const etcd = connect(flags, ctx.env);
  const layouts = layoutsFrom(flags.layout, flags, ctx.env, ['native']);
  const log = (text: string): void => void ctx.err.write(`${new Date().toISOString()} ${safeLine(text)}\n`);
  const node = await startNodeRelay({ etcd, layouts, config, port, ...(flags.host === undefined ? {} : { host: flags.host }) }).catch((error: unknown) => {
    throw listenFailure(error, port);
  });
  ctx.out.write(`etcd-edge relay listening on ${node.url}\n`);
  log(`etcd ${endpointsFrom(flags, ctx.env).join(', ')}; layouts ${layouts.map((l) => l.name).join(', ')}; ${config.tokens.length} token(s); ${config.limits.ratePerSecond} requests/s per client`);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  log(`shutting down: answering held long-polls, draining for up to ${drainMs} ms`);
  await node.close(drainMs);
  log('stopped');
  return 0;
}

/** The relay's settings; a missing or bad variable is one line, and the relay does not start. */
function configOf(env: CliContext['env']): RelayConfig {
  try {
    return relayConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new Error(`relay not started: ${error.message}`);
    throw error;
  }
}

/** `serve --relay`: the snapshot relay mounted at `/v1/` of the gateway's port. */
export interface RelayMount {
  /** The relay over its own watch-mode resolver, reading etcd through `etcd`: the gateway's client, so the process logs in once. */
  mount(etcd: EtcdClient): NodeMount;
  /** Answers held long-polls (304), as on shutdown. */
  release(): void;
  /** Stops the relay's watches. */
  close(): void;
}

/** The relay for `serve --relay`; its settings are read now, so a bad one stops `serve` before it listens. */
export function relayMount(flags: Flags, env: CliContext['env']): RelayMount {
  const config = configOf(env);
  const layouts = layoutsFrom(flags.layout, flags, env, ['native']);
  let built: { relay: SnapshotRelay; resolver: Resolver } | undefined;
  return {
    mount: (etcd) => {
      const resolver = relayResolver(etcd, layouts, config);
      const relay = nodeRelay(etcd, resolver, layouts, config);
      built = { relay, resolver };
      const listener = getRequestListener(relay.app.fetch);
      return { prefix: '/v1/', listener: (incoming, outgoing) => void listener(incoming, outgoing) };
    },
    release: () => built?.relay.release(),
    close: () => built?.resolver.close(),
  };
}
