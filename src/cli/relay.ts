import { getRequestListener } from '@hono/node-server';
import type { RequestListener } from 'node:http';
import { nodeRelay, relayResolver, startNodeRelay } from '../adapters/node/index.js';
import type { EtcdClient } from '../etcd/index.js';
import { ConfigError } from '../gateway/index.js';
import { relayConfig, type RelayConfig } from '../relay/index.js';
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

/** The relay for `serve --relay`: its own resolver over `etcd`, mounted at `/v1/` of the gateway's port. */
export function relayMount(etcd: EtcdClient, flags: Flags, env: CliContext['env']): { mount: { prefix: string; listener: RequestListener }; release(): void; close(): void } {
  const config = configOf(env);
  const layouts = layoutsFrom(flags.layout, flags, env, ['native']);
  const resolver = relayResolver(etcd, layouts, config);
  const relay = nodeRelay(etcd, resolver, layouts, config);
  const listener = getRequestListener(relay.app.fetch);
  return {
    mount: { prefix: '/v1/', listener: (incoming, outgoing) => void listener(incoming, outgoing) },
    release: () => relay.release(),
    close: () => resolver.close(),
  };
}
