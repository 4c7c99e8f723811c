/**
 * The Node process's own figures in Prometheus text, under the names
 * prom-client's default metrics use, so dashboards built for those work:
 * memory, and the handles and requests that keep the event loop alive
 * (sockets, servers, timers) by type. A leak of any of them shows here.
 */
export function processMetrics(): string {
  const memory = process.memoryUsage();
  const out: string[] = [];
  const gauge = (name: string, help: string, value: number): void => void out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', memory.rss);
  gauge('nodejs_heap_size_total_bytes', 'V8 heap size in bytes.', memory.heapTotal);
  gauge('nodejs_heap_size_used_bytes', 'V8 heap used in bytes.', memory.heapUsed);
  gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript objects, in bytes.', memory.external);
  const resources = activeResources();
  out.push('# HELP nodejs_active_resources Resources keeping the event loop alive, by type (TCPSocketWrap: open sockets; Timeout: timers).', '# TYPE nodejs_active_resources gauge');
  for (const [type, count] of resources) out.push(`nodejs_active_resources{type="${type}"} ${count}`);
  let total = 0;
  for (const count of resources.values()) total += count;
  gauge('nodejs_active_resources_total', 'Resources keeping the event loop alive.', total);
  return out.join('\n') + '\n';
}

function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}
