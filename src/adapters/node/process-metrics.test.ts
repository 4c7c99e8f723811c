import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeConfig, startNodeGateway, type NodeGateway } from './server.js';
import { processMetrics } from './process-metrics.js';

const TOKEN = 'admin-token-0123456789';
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Samples by name (with labels), from Prometheus text. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

async function openSocket(): Promise<{ server: Server; client: Socket }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => client.once('connect', resolve));
  return { server, client };
}

describe('processMetrics', () => {
  it('reports memory and the handles that keep the process alive, in Prometheus text', () => {
    const text = processMetrics();
    const figures = samples(text);
    for (const name of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_external_memory_bytes', 'nodejs_active_resources_total']) {
      expect(text).toContain(`# TYPE ${name} gauge`);
      expect(figures.get(name), name).toBeGreaterThanOrEqual(0);
    }
    expect(figures.get('process_resident_memory_bytes')).toBeGreaterThan(figures.get('nodejs_heap_size_used_bytes')!);
    expect(text).toContain('# TYPE nodejs_active_resources gauge');
  });

  it('counts open sockets and timers as they come and go', async () => {
    const sockets = () => samples(processMetrics()).get('nodejs_active_resources{type="TCPSocketWrap"}') ?? 0;
    const timers = () => samples(processMetrics()).get('nodejs_active_resources{type="Timeout"}') ?? 0;
    const before = { sockets: sockets() };
    const { server, client } = await openSocket();
    // The client's socket and the server's end of it.
    expect(sockets()).toBe(before.sockets + 2);
    // Timers are counted around one of our own, with no await between: the test runner keeps timers of its own,
    // which may fire across an await and change the count.
    const timersBefore = timers();
    const timer = setTimeout(() => undefined, 60_000);
    expect(timers()).toBe(timersBefore + 1);
    clearTimeout(timer);
    expect(timers()).toBe(timersBefore);
    client.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    // A socket's handle is released on a later turn of the loop.
    for (let i = 0; i < 50 && sockets() > before.sockets; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sockets()).toBe(before.sockets);
  });

  it('is served under /_edge/metrics by the Node gateway', async () => {
    const node: NodeGateway = await startNodeGateway({ config: nodeConfig({ ADMIN_TOKEN: TOKEN, PORT: '0' }), host: '127.0.0.1' });
    closers.push(() => node.close(0));
    const text = await (await fetch(`${node.url}/_edge/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(text).toContain('etcd_edge_watches ');
    expect(samples(text).get('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(samples(text).get('nodejs_active_resources{type="TCPServerWrap"}')).toBeGreaterThanOrEqual(1);
  });
});
