import { nodeConfig, startNodeGateway } from '../adapters/node/index.js';
import { EtcdError, sleep, type EtcdClient } from '../etcd/index.js';
import { ConfigError, type GatewayConfig } from '../gateway/index.js';
import type { Gateway } from '../http/index.js';
import { expectArgs, numberFlag, type Flags } from './args.js';
import { relayMount } from './relay.js';
import { configFileOf, readConfigFile } from './config-file.js';
import { isServeWorker, serveCluster, workerCount, type Reloaded } from './serve-cluster.js';
import { readFlagFile, tlsFetch } from './tls-fetch.js';
import type { CliContext } from './context.js';
import { describeError, UsageError } from './errors.js';
import { listenFailure, listeningLine } from './listening.js';
import { safeLine } from './printable.js';

/** Which variable each flag sets; flags win over the environment. */
const FLAG_VARIABLES: [keyof Flags, string][] = [
  ['etcd', 'ETCD_ENDPOINTS'],
  ['user', 'ETCD_USERNAME'],
  ['password', 'ETCD_PASSWORD'],
  ['prefix', 'ETCD_EDGE_PREFIX'],
  ['layout', 'ETCD_EDGE_LAYOUTS'],
  ['strategy', 'ETCD_EDGE_STRATEGY'],
  ['watch', 'ETCD_EDGE_WATCH'],
  ['cache-ttl', 'ETCD_EDGE_CACHE_TTL_MS'],
  ['port', 'PORT'],
  ['admin-port', 'ETCD_EDGE_ADMIN_PORT'],
  ['admin-host', 'ETCD_EDGE_ADMIN_HOST'],
];

const PROBE_TIMEOUT_MS = 2_000;

/** `etcd-edge serve`: the gateway on Node until SIGINT/SIGTERM, then a graceful drain. */
export async function serveCommand(positionals: readonly string[], flags: Flags, ctx: CliContext): Promise<number> {
  expectArgs(positionals, []);
  const drainMs = numberFlag(flags.drain, 'drain', 10_000, { min: 0, max: 600_000, integer: true });
  const configFile = configFileOf(flags.config, ctx.env);
  // A worker of `--workers N` has the file's values in its environment, as its primary last read them.
  const fileValues = configFile === undefined || isServeWorker() ? {} : readConfigFile(configFile);
  const env = { ...ctx.env, ...fileValues };
  const config = configFrom(flags, env);
  const log = (text: string): void => void ctx.err.write(`${new Date().toISOString()} ${safeLine(text)}\n`);
  if (flags.relay && config.relay) throw new UsageError('--relay serves what etcd holds; this gateway reads a relay (ETCD_EDGE_RELAY_URL), not etcd');
  const workers = workerCount(flags.workers, env);
  if (workers > 1 || isServeWorker()) {
    if (flags.relay) throw new UsageError('--relay and --workers: run the relay in a process of its own (etcd-edge relay)');
    const etcdFetch = flags.cacert || flags.cert ? tlsFetch(flags) : undefined;
    const tls = flags['tls-cert'] && flags['tls-key'] ? { cert: readFlagFile(flags['tls-cert'], '--tls-cert'), key: readFlagFile(flags['tls-key'], '--tls-key') } : undefined;
    const reload = configFile === undefined ? undefined : (): Reloaded => {
      const values = readConfigFile(configFile);
      const next = { ...ctx.env, ...values };
      return { config: configFrom(flags, next), workerEnv: values, workers: workerCount(flags.workers, next), from: configFile };
    };
    return serveCluster({ config, workerEnv: fileValues, reload, workers, drainMs, host: flags.host, tls, etcdFetch, ctx, log, probe: (etcd) => void probe(etcd, config, log) });
  }
  const relay = flags.relay ? relayMount(flags, ctx.env) : undefined;
  const node = await startNodeGateway({
    config,
    ...(relay ? { mount: (gateway: Gateway) => relay.mount(gateway.etcd!) } : {}),
    ...(flags.host === undefined ? {} : { host: flags.host }),
    ...(flags['tls-cert'] && flags['tls-key'] ? { tls: { cert: readFlagFile(flags['tls-cert'], '--tls-cert'), key: readFlagFile(flags['tls-key'], '--tls-key') } } : {}),
    ...(flags.cacert || flags.cert ? { etcdFetch: tlsFetch(flags) } : {}),
    onError: (error) => log(`request failed inside the gateway: ${error instanceof Error ? error.message : String(error)}`),
    onWarning: (text) => log(`warning: ${text}`),
  }).catch((error: unknown) => {
    relay?.close();
    throw listenFailure(error, config.port);
  });
  ctx.out.write(`${listeningLine(node.url)}\n`);
  if (relay) log(`snapshot relay at ${node.url}/v1/services/{name}`);
  log(`${config.relay ? `relay ${config.relay.urls.join(', ')}` : `etcd ${config.etcd.endpoints.join(', ')}`}; layouts ${config.layouts.join(', ')}; ${config.watch ? 'watch mode' : `cache ${config.cacheTtlMs} ms`}; strategy ${config.strategy}${config.adminToken ? `; admin on ${node.adminUrl ?? node.url}/_edge/` : ''}`);
  // With a relay, etcd is not this process's to reach; /_edge/health reports the relay.
  if (node.gateway.etcd) void probe(node.gateway.etcd, config, log);
  // Tools that reload with SIGHUP (systemd's ExecReload, logrotate) must not take a lone gateway down: Node's default ends the process.
  const onHangup = (): void => log('SIGHUP: one process keeps its configuration (a reload restarts workers: --workers 2 or more); restart etcd-edge serve to apply a new one');
  process.on('SIGHUP', onHangup);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  process.off('SIGHUP', onHangup);
  log(`shutting down: draining in-flight requests for up to ${drainMs} ms`);
  relay?.release();
  await node.close(drainMs);
  relay?.close();
  log('stopped');
  return 0;
}

function configFrom(flags: Flags, env: CliContext['env']): GatewayConfig {
  if ((flags.cert === undefined) !== (flags.key === undefined)) throw new UsageError('--cert and --key go together');
  if ((flags['tls-cert'] === undefined) !== (flags['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const merged: Record<string, string | undefined> = { ...env };
  for (const [flag, variable] of FLAG_VARIABLES) {
    const value = flags[flag];
    if (typeof value === 'string') merged[variable] = value;
  }
  try {
    return nodeConfig(merged);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const flag = FLAG_VARIABLES.find(([name, variable]) => variable === error.variable && flags[name] !== undefined)?.[0];
    throw new UsageError(flag ? `--${flag}: ${error.message.slice(error.variable.length + 2)}` : error.message);
  }
}

/**
 * Says at start-up whether etcd answers; the gateway runs either way and
 * serves what it can. It reads through the gateway's own client: a client of
 * its own would log in a second time, which a fleet starting at once pays for
 * in etcd's bcrypt queue.
 */
async function probe(etcd: EtcdClient, config: GatewayConfig, log: (text: string) => void): Promise<void> {
  try {
    await Promise.race([etcd.range(config.prefix, { limit: 1, keysOnly: true }), sleep(PROBE_TIMEOUT_MS).then(() => Promise.reject(new Error('no answer')))]);
  } catch (error) {
    const until = error instanceof EtcdError && error.code === 'ETCD_AUTH_FAILED' ? 'etcd accepts the credentials' : 'it answers';
    log(`warning: ${describeError(error, config.etcd.endpoints)}; requests get 503 ETCD_UNAVAILABLE until ${until}`);
  }
}
