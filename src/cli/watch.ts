import type { EtcdClient } from '../etcd/index.js';
import { loadService } from '../discovery/index.js';
import { assertServiceName, decodeRecord, printableKey, servesService, type KeyLayout } from '../registry/index.js';
import { expectArgs, type Flags } from './args.js';
import { ALL_LAYOUTS, connect, layoutsFrom } from './connect.js';
import type { CliContext } from './context.js';
import { instanceLine, skippedLine } from './format.js';
import { printable } from './printable.js';

/**
 * `etcd-edge watch <service>`: prints the instances, then one line per change
 * (`+` added, `~` changed, `-` removed, `!` skipped) until SIGINT/SIGTERM.
 */
export async function watchCommand(positionals: readonly string[], flags: Flags, ctx: CliContext): Promise<number> {
  const [service] = expectArgs(positionals, ['service']) as [string];
  assertServiceName(service);
  const layouts = layoutsFrom(flags.layout, flags, ctx.env, ALL_LAYOUTS);
  const etcd = connect(flags, ctx.env);
  const loaded = await loadService(etcd, layouts, service, { pageSize: 1_000, signal: ctx.signal });
  for (const record of loaded.records.values()) ctx.out.write(record.ok ? instanceLine('+', record.instance) : skippedLine(record.skipped));
  const known = new Set(loaded.records.keys());
  ctx.err.write(`watching ${service} from revision ${loaded.revision + 1}\n`);
  const followed = layouts.flatMap((layout, i) => (servesService(layout, service, layouts) ? [follow(etcd, layout, service, loaded.revisions[i]! + 1, known, ctx)] : []));
  await Promise.all(followed);
  return 0;
}

async function follow(etcd: EtcdClient, layout: KeyLayout, service: string, startRevision: number, known: Set<string>, ctx: CliContext): Promise<void> {
  const batches = etcd.watch({ prefix: layout.servicePrefix(service) }, { startRevision, signal: ctx.signal });
  for await (const batch of batches) {
    for (const event of batch.events) {
      const key = printableKey(event.kv.key);
      if (event.type === 'delete') {
        if (known.delete(key)) ctx.out.write(`- ${service} ${printable(key.slice(layout.servicePrefix(service).length))} (${layout.name})\n`);
        continue;
      }
      const decoded = decodeRecord(layout, event.kv);
      if (!decoded) continue;
      const mark = known.has(key) ? '~' : '+';
      known.add(key);
      ctx.out.write(decoded.ok ? instanceLine(mark, decoded.instance) : skippedLine(decoded.skipped));
    }
  }
}
