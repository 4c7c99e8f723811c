import { parseAddress, assertServiceName, decodeRecord } from '../registry/index.js';
import { expectArgs, type Flags } from './args.js';
import { connect, singleLayout } from './connect.js';
import type { CliContext } from './context.js';
import { printable, quoted } from './printable.js';

/** `etcd-edge deregister <service> <url-or-id>`: deletes the matching keys of one layout. */
export async function deregisterCommand(positionals: readonly string[], flags: Flags, ctx: CliContext): Promise<number> {
  const [service, target] = expectArgs(positionals, ['service', 'url-or-id']) as [string, string];
  assertServiceName(service);
  const layout = singleLayout(flags, ctx);
  const etcd = connect(flags, ctx.env);
  const prefix = layout.servicePrefix(service);
  const parsed = parseAddress(target);
  const url = parsed.ok ? parsed.address.url : undefined;
  const { kvs } = await etcd.range({ prefix }, { pageSize: 1_000, signal: ctx.signal });
  const keys = new Set<string>();
  for (const kv of kvs) {
    const decoded = decodeRecord(layout, kv);
    if (!decoded) continue;
    const key = decoded.ok ? decoded.instance.key : decoded.skipped.key;
    if (key === prefix + target || (decoded.ok && decoded.instance.url === url)) keys.add(key);
  }
  if (keys.size === 0) {
    ctx.err.write(`etcd-edge: no ${layout.name} instance of ${service} matches ${quoted(target)}\n`);
    return 1;
  }
  for (const key of keys) {
    const { deleted } = await etcd.delete(key, { signal: ctx.signal });
    if (deleted > 0) ctx.out.write(`deregistered ${printable(key)}\n`);
  }
  return 0;
}
