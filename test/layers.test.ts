import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');
/** Folders that must run on any runtime (Workers, Lambda, Node): Web standards only. */
const PORTABLE = ['etcd', 'testing', 'registry', 'balance', 'discovery', 'gateway', 'relay'];
/** Layers from the bottom up; a layer may import only from layers below it. */
const ORDER = ['etcd', 'registry', 'balance', 'discovery', 'gateway', 'relay', 'adapters', 'cli'];

function sources(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

describe('layers', () => {
  it('portable layers use no Node APIs', () => {
    const offenders = PORTABLE.flatMap((layer) => sources(join(SRC, layer)))
      .filter((file) => /from 'node:|\bBuffer\b|\bprocess\.|require\(/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SRC, file));
    expect(offenders).toEqual([]);
  });

  it('layers import only downward', () => {
    const offenders: string[] = [];
    for (const [rank, layer] of ORDER.entries()) {
      for (const file of sources(join(SRC, layer))) {
        for (const [, target] of readFileSync(file, 'utf8').matchAll(/from '\.\.\/(?:\.\.\/)*(\w+)\//g)) {
          const targetRank = ORDER.indexOf(target!);
          if (targetRank > rank) offenders.push(`${relative(SRC, file)} -> ${target}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
