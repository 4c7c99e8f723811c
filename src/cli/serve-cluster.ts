import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { AddressInfo } from 'node:net';
import { ClusterPrimary, WORKER_SLOT } from '../adapters/node/cluster-primary.js';
import { handOver, startClusterWorker } from '../adapters/node/cluster-worker.js';
import type { NodeGatewayOptions } from '../adapters/node/index.js';
import type { EtcdClient, FetchLike } from '../etcd/index.js';
import type { GatewayConfig } from '../gateway/index.js';
import { numberFlag } from './args.js';
import type { CliContext } from './context.js';
import { listenFailure, listeningLine } from './listening.js';

/** What a SIGHUP read: the configuration, the variables workers get on top of the environment, and where they came from. */
export interface Reloaded {
  config: GatewayConfig;
  workerEnv: Readonly<Record<string, string>>;
  workers: number;
  from: string;
}

export interface ServeClusterOptions {
  config: GatewayConfig;
  /** Variables for every worker on top of the environment (the --config file's). */
  workerEnv: Readonly<Record<string, string>>;
  /** Reads the configuration again (SIGHUP), or throws why it cannot; undefined when there is nothing to re-read (no --config file). */
  reload: (() => Reloaded) | undefined;
  workers: number;
  drainMs: number;
  host: string | undefined;
  tls: NodeGatewayOptions['tls'];
  etcdFetch: FetchLike | undefined;
  ctx: CliContext;
  log: (text: string) => void;
  /** Says at start-up whether etcd answers (the primary's client). */
  probe: (etcd: EtcdClient) => void;
}

/** `--workers N|auto` or `ETCD_EDGE_WORKERS`: how many processes serve requests; 1 (the default) means no cluster at all. */
export function workerCount(flag: string | undefined, env: CliContext['env']): number {
  const value = flag ?? env.ETCD_EDGE_WORKERS;
  if (value === 'auto') return availableParallelism();
  return numberFlag(value, 'workers', 1, { min: 1, max: 256, integer: true });
}

/** Whether this process is a worker forked by `serve --workers N`. */
export function isServeWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_SLOT] !== undefined;
}

/**
 * `etcd-edge serve --workers N`: the primary holds etcd and forks N workers
 * that share the port; SIGHUP replaces them one at a time, SIGTERM drains
 * them all. In a worker, the same command serves until told to drain.
 */
export async function serveCluster(options: ServeClusterOptions): Promise<number> {
  return isServeWorker() ? serveAsWorker(options) : serveAsPrimary(options);
}

async function serveAsPrimary(options: ServeClusterOptions): Promise<number> {
  const { config, ctx, log, drainMs } = options;
  const primary = new ClusterPrimary({
    config,
    workerEnv: options.workerEnv,
    workers: options.workers,
    log,
    ...(options.etcdFetch ? { etcdFetch: options.etcdFetch } : {}),
    onError: (error) => log(`request failed inside the gateway: ${error instanceof Error ? error.message : String(error)}`),
    onWarning: (text) => log(`warning: ${text}`),
  });
  const address = await primary.start().catch(async (error: unknown) => {
    await primary.close(0);
    throw listenFailure(error, config.port);
  });
  ctx.out.write(`${listeningLine(urlOf(address, options.tls ? 'https' : 'http'))}\n`);
  const admin = primary.adminAddress;
  log(`${options.workers} workers; ${config.relay ? `relay ${config.relay.urls.join(', ')}` : `etcd ${config.etcd.endpoints.join(', ')}`} read by the primary (pid ${process.pid}); ${config.watch ? 'watch mode' : `cache ${config.cacheTtlMs} ms`}${config.adminToken ? `; admin on ${admin ? urlOf(admin) : urlOf(address)}/_edge/` : ''}`);
  if (primary.gateway.etcd) options.probe(primary.gateway.etcd);
  let restarting: Promise<void> | undefined;
  let current = { config, workers: options.workers };
  const onHangup = (): void => {
    if (restarting) return log('SIGHUP: a restart is under way; send it again once it is done');
    let from = '';
    if (options.reload) {
      let next: Reloaded;
      try {
        next = options.reload();
      } catch (error) {
        log(`SIGHUP: configuration not reloaded, every worker keeps the one it has: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
      const refusal = unreloadable(current, next);
      if (refusal) return log(`SIGHUP: configuration not reloaded, every worker keeps the one it has: ${refusal} needs a restart of etcd-edge serve, not a reload`);
      primary.reconfigure(next.config, next.workerEnv);
      current = next;
      from = ` with the configuration read from ${next.from}`;
    }
    log(`SIGHUP: restarting workers one at a time${from}`);
    restarting = primary.restart(drainMs).then(
      () => log('workers restarted'),
      (error: unknown) => log(`restart failed: ${error instanceof Error ? error.message : String(error)}`),
    ).finally(() => (restarting = undefined));
  };
  process.on('SIGHUP', onHangup);
  await aborted(ctx.signal);
  process.off('SIGHUP', onHangup);
  log(`shutting down: every worker drains in-flight requests for up to ${drainMs} ms`);
  await primary.close(drainMs);
  log('stopped');
  return 0;
}

/** What a reload cannot change (the listeners, the number of workers), by the setting's name; undefined when it can apply `next`. */
function unreloadable(now: { config: GatewayConfig; workers: number }, next: Reloaded): string | undefined {
  if (next.config.port !== now.config.port) return 'a new PORT';
  const [a, b] = [now.config.adminListener, next.config.adminListener];
  if (a?.port !== b?.port || a?.host !== b?.host) return 'a new admin listener (ETCD_EDGE_ADMIN_PORT, ETCD_EDGE_ADMIN_HOST)';
  if (next.workers !== now.workers) return 'a new ETCD_EDGE_WORKERS';
  return undefined;
}

async function serveAsWorker(options: ServeClusterOptions): Promise<number> {
  const { config, ctx, drainMs } = options;
  const slot = process.env[WORKER_SLOT];
  const log = (text: string): void => options.log(`worker ${slot} (pid ${process.pid}): ${text}`);
  let drain: (rolling: boolean) => void = () => undefined;
  const told = new Promise<boolean>((resolve) => (drain = resolve));
  const node = await startClusterWorker({
    config,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.tls ? { tls: options.tls } : {}),
    onDrain: (rolling) => drain(rolling),
    onError: (error) => log(`request failed inside the gateway: ${error instanceof Error ? error.message : String(error)}`),
    onWarning: (text) => log(`warning: ${text}`),
  });
  const rolling = await Promise.race([told, aborted(ctx.signal).then(() => false)]);
  await (rolling ? handOver(node, drainMs) : node.close(drainMs));
  return 0;
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function urlOf(address: AddressInfo, scheme = 'http'): string {
  return `${scheme}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}
