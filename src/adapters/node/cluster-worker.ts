import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayConfig } from '../../gateway/index.js';
import { PrimarySource, type PrimaryChannel } from './primary-source.js';
import { processMetrics } from './process-metrics.js';
import { startNodeGateway, type NodeGateway, type NodeGatewayOptions } from './server.js';
import { isEdgeMessage, type PrimaryMessage, type WorkerMessage } from './snapshot-ipc.js';

/**
 * How long a worker replaced by a rolling restart keeps serving with
 * `Connection: close` before it closes (ms): past Node's keep-alive timeout
 * (5 s, which it tells clients), so a client's idle connection is closed by
 * the client, never under a request it is sending.
 */
export const HAND_OVER_MS = 5_500;

/** How long a forwarded admin request may wait for the primary (ms). */
const ADMIN_BOUND_MS = 10_000;

export interface ClusterWorkerOptions extends Pick<NodeGatewayOptions, 'host' | 'tls' | 'onError' | 'onWarning'> {
  config: GatewayConfig;
  /** Told to drain: SIGTERM on the primary, or (`rolling`) a restart where other workers take over. */
  onDrain: (rolling: boolean) => void;
}

/**
 * One worker of `etcd-edge serve --workers N`: the proxy on the port the
 * cluster shares, reading snapshots from the primary (never etcd), its
 * admin requests answered by the primary. It exits when the primary's
 * channel closes: a worker never outlives its primary.
 */
export async function startClusterWorker(options: ClusterWorkerOptions): Promise<NodeGateway> {
  const channel = processChannel();
  const { config } = options;
  const admin = config.adminToken !== undefined && config.adminListener === undefined ? adminForwarder(channel) : undefined;
  const node = await startNodeGateway({
    // Admin is the primary's: on its own port when there is one, else forwarded from here.
    config: { ...config, adminToken: undefined, adminListener: undefined },
    source: () => new PrimarySource(channel),
    ...(admin ? { mount: () => ({ prefix: '/_edge', listener: admin }) } : {}),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
  channel.on('message', (message) => {
    if (!isEdgeMessage(message)) return;
    const m = message as PrimaryMessage;
    if (m.kind === 'drain') options.onDrain(m.rolling);
    else if (m.kind === 'metrics') {
      const text = node.gateway.metrics.render(node.gateway.resolver.stats, 0) + processMetrics();
      channel.send({ etcdEdge: 1, kind: 'metrics', id: m.id, text });
    }
  });
  // The primary is gone (killed, crashed): nothing answers lookups any more, so neither does this worker.
  process.once('disconnect', () => process.exit(1));
  return node;
}

/**
 * Leaves the port to the other workers: requests still come (the cluster
 * hands this worker connections until it closes) and are answered with
 * `Connection: close`; then the usual drain.
 */
export async function handOver(node: NodeGateway, drainMs: number): Promise<void> {
  node.refuseKeepAlive();
  await new Promise((resolve) => setTimeout(resolve, Math.min(HAND_OVER_MS, drainMs)));
  await node.close(drainMs);
}

function processChannel(): PrimaryChannel {
  if (!process.send) throw new TypeError('a cluster worker needs an IPC channel to its primary');
  return {
    send: (message: WorkerMessage) => void process.send!(message, undefined, {}, (error: Error | null) => void error),
    on: (event, listener) => void process.on(event, listener),
  };
}

function adminForwarder(channel: PrimaryChannel): (incoming: IncomingMessage, outgoing: ServerResponse) => void {
  let next = 1;
  const waiting = new Map<number, (answer: Extract<PrimaryMessage, { kind: 'admin' }>) => void>();
  channel.on('message', (message) => {
    if (isEdgeMessage(message) && message.kind === 'admin') {
      const answer = message as Extract<PrimaryMessage, { kind: 'admin' }>;
      waiting.get(answer.id)?.(answer);
    }
  });
  return (incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        outgoing.writeHead(504, { 'content-type': 'application/json' }).end('{"error":{"code":"UPSTREAM_TIMEOUT","message":"the primary did not answer"}}');
      }, ADMIN_BOUND_MS);
      waiting.set(id, (answer) => {
        waiting.delete(id);
        clearTimeout(timer);
        const headers: Record<string, string | string[]> = {};
        for (const [name, value] of answer.headers) headers[name] = name in headers ? [headers[name]!, value].flat() : value;
        outgoing.writeHead(answer.status, headers).end(Buffer.from(answer.body, 'base64'));
      });
      const headers = Object.entries(incoming.headers).flatMap(([name, value]) => (value === undefined ? [] : [value].flat().map((v): [string, string] => [name, v])));
      channel.send({ etcdEdge: 1, kind: 'admin', id, method: incoming.method ?? 'GET', url: incoming.url ?? '/', headers, body: Buffer.concat(chunks).toString('base64') });
    });
  };
}
