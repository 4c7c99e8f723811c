import { leaseIdHex } from '../discovery/index.js';
import type { Instance, SkippedRecord } from '../registry/index.js';
import { printable, quoted } from './printable.js';

/** A lease ID in etcdctl's hex, `-` for none. */
export function leaseHex(id: string | undefined): string {
  return id === undefined || id === '0' ? '-' : leaseIdHex(id);
}

export function formatTags(tags: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(tags).map(([k, v]) => `${printable(k)}=${printable(v)}`);
  return pairs.length === 0 ? '-' : pairs.join(',');
}

/** Columns padded to the widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** One line per instance for `watch`: `+ service id url weight=N tags=…`. */
export function instanceLine(mark: '+' | '~', instance: Instance): string {
  return `${mark} ${printable(instance.service)} ${printable(instance.id)} ${printable(instance.url)} weight=${instance.weight} tags=${formatTags(instance.tags)} layout=${instance.layout}\n`;
}

export function skippedLine(record: SkippedRecord): string {
  return `! ${quoted(record.key)} (${record.layout}) skipped: ${printable(record.reason)}\n`;
}
