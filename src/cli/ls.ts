import { leaseIdHex } from '../discovery/index.js';
import type { EtcdClient } from '../etcd/index.js';
import { assertServiceName, decodeRecord, servesService, type Decoded, type Instance, type KeyLayout, type SkippedRecord } from '../registry/index.js';
import { expectArgs, type Flags } from './args.js';
import { ALL_LAYOUTS, connect, layoutsFrom } from './connect.js';
import type { CliContext } from './context.js';
import { formatTags, leaseHex, table } from './format.js';
import { printable, printableJson, quoted } from './printable.js';

/** `etcd-edge ls [service]`: instances with their lease TTL left, and skipped records. */
export async function lsCommand(positionals: readonly string[], flags: Flags, ctx: CliContext): Promise<number> {
  const [service] = expectArgs(positionals, ['service'], 1);
  if (service !== undefined) assertServiceName(service);
  const layouts = layoutsFrom(flags.layout, flags, ctx.env, ALL_LAYOUTS);
  const etcd = connect(flags, ctx.env);
  const records: Decoded[] = [];
  for (const layout of layouts) {
    if (service !== undefined && !servesService(layout, service, layouts)) continue;
    const prefix = service === undefined ? layout.root : layout.servicePrefix(service);
    if (prefix === undefined) {
      ctx.err.write(`note: ${layout.name} keys have no common prefix; name a service to list them\n`);
      continue;
    }
    records.push(...(await read(etcd, layout, prefix, ctx.signal)));
  }
  const instances = records.flatMap((r) => (r.ok ? [r.instance] : []));
  const skipped = records.flatMap((r) => (r.ok ? [] : [r.skipped]));
  const ttls = await leaseTtls(etcd, instances, ctx.signal);
  if (flags.json) {
    const rows = instances.map((i) => ({ ...i, ...(i.leaseId === undefined ? {} : { leaseId: leaseIdHex(i.leaseId) }), ttl: i.leaseId === undefined ? null : (ttls.get(i.leaseId) ?? null) }));
    ctx.out.write(`${printableJson({ instances: rows, skipped })}\n`);
    return 0;
  }
  printTable(ctx, instances, skipped, ttls);
  return 0;
}

async function read(etcd: EtcdClient, layout: KeyLayout, prefix: string, signal: AbortSignal): Promise<Decoded[]> {
  const { kvs } = await etcd.range({ prefix }, { pageSize: 1_000, signal });
  return kvs.flatMap((kv) => decodeRecord(layout, kv) ?? []);
}

/** Seconds left on each distinct lease (-1: gone), asked 16 at a time. */
async function leaseTtls(etcd: EtcdClient, instances: readonly Instance[], signal: AbortSignal): Promise<Map<string, number>> {
  const ids = [...new Set(instances.flatMap((i) => (i.leaseId === undefined ? [] : [i.leaseId])))];
  const ttls = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 16) {
    const batch = ids.slice(i, i + 16);
    const answers = await Promise.all(batch.map((id) => etcd.leaseTimeToLive(id, { signal }).then((r) => r.ttl, () => -1)));
    batch.forEach((id, j) => ttls.set(id, answers[j]!));
  }
  return ttls;
}

function printTable(ctx: CliContext, instances: readonly Instance[], skipped: readonly SkippedRecord[], ttls: Map<string, number>): void {
  if (instances.length === 0) ctx.out.write('no instances\n');
  else {
    const rows = [...instances]
      .sort((a, b) => a.service.localeCompare(b.service) || a.id.localeCompare(b.id))
      .map((i) => [printable(i.service), printable(i.id), printable(i.url), String(i.weight), formatTags(i.tags), ttlText(i, ttls), `${i.layout}, lease ${leaseHex(i.leaseId)}`]);
    ctx.out.write(table(['SERVICE', 'INSTANCE', 'URL', 'WEIGHT', 'TAGS', 'TTL', 'LAYOUT'], rows));
  }
  if (skipped.length > 0) {
    ctx.out.write(`\nskipped ${skipped.length} record(s):\n`);
    for (const s of skipped) ctx.out.write(`  ${quoted(s.key)} (${s.layout}): ${printable(s.reason)}\n`);
  }
}

function ttlText(instance: Instance, ttls: Map<string, number>): string {
  if (instance.leaseId === undefined) return 'no lease';
  const ttl = ttls.get(instance.leaseId) ?? -1;
  return ttl < 0 ? 'expired' : `${ttl}s`;
}
