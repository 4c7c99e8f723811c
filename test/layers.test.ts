import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');
/** Folders that must run on any runtime (Workers, Lambda, Node): Web standards only. */
const PORTABLE = ['etcd', 'testing', 'registry', 'balance', 'discovery', 'gateway', 'http', 'relay'];
/** The core: no HTTP framework. Hono lives at the edge (`http`, `relay`, `adapters`). */
const CORE = ['etcd', 'registry', 'balance', 'discovery', 'gateway'];
/** Layers from the bottom up; a layer may import only from layers below it. */
const ORDER = ['etcd', 'registry', 'balance', 'discovery', 'gateway', 'http', 'relay', 'adapters', 'cli'];
/** Support shared by unit tests: neither built nor exported (tsconfig.build.json excludes it). */
const INTERNAL = join(SRC, 'testing', 'internal');

/** The .ts files under `dir`, tests too when asked. */
function sources(dir: string, withTests = false): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name), withTests)
      : e.name.endsWith('.ts') && (withTests || !e.name.endsWith('.test.ts'))
        ? [join(dir, e.name)]
        : [],
  );
}

/** The files `file` imports or re-exports by relative path, resolved. */
function relativeImports(file: string): string[] {
  const specifiers = readFileSync(file, 'utf8').matchAll(/(?:\bfrom|\bimport\(?)\s*'(\.{1,2}\/[^']*)'/g);
  return Array.from(specifiers, ([, specifier]) => resolve(dirname(file), specifier!));
}

const inside = (dir: string, path: string): boolean => path.startsWith(dir + sep);

/**
 * The cycles a depth-first walk of `graph` meets, each as the files around it
 * with the first repeated at the end. Every back edge is one; a graph without
 * any has no cycle at all.
 */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const finished = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): void => {
    const at = path.indexOf(file);
    if (at !== -1) {
      found.push([...path.slice(at), file]);
      return;
    }
    if (finished.has(file)) return;
    path.push(file);
    for (const target of graph.get(file) ?? []) visit(target);
    path.pop();
    finished.add(file);
  };
  for (const file of graph.keys()) visit(file);
  return found;
}

describe('layers', () => {
  it('portable layers use no Node APIs', () => {
    const offenders = PORTABLE.flatMap((layer) => sources(join(SRC, layer)))
      .filter((file) => /from 'node:|\bBuffer\b|\bprocess\.|require\(/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SRC, file));
    expect(offenders).toEqual([]);
  });

  it('the core never imports Hono: the HTTP edge (src/http) does', () => {
    const offenders = CORE.flatMap((layer) => sources(join(SRC, layer)))
      .filter((file) => /from 'hono(?:\/[^']*)?'/.test(readFileSync(file, 'utf8')))
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

  it('src/ imports nothing outside src/: unit tests take their support from src/testing/internal, not test/', () => {
    const offenders = sources(SRC, true).flatMap((file) =>
      relativeImports(file)
        .filter((target) => !inside(SRC, target))
        .map((target) => `${relative(SRC, file)} -> ${relative(SRC, target)}`),
    );
    expect(offenders).toEqual([]);
  });

  it('only tests and test support import src/testing/internal: not the code that ships, nor the public etcd-edge/testing', () => {
    const offenders = sources(SRC)
      .filter((file) => !inside(INTERNAL, file))
      .flatMap((file) =>
        relativeImports(file)
          .filter((target) => inside(INTERNAL, target))
          .map((target) => `${relative(SRC, file)} -> ${relative(SRC, target)}`),
      );
    expect(offenders).toEqual([]);
  });

  it('src/ has no import cycles, type-only imports included: each file can be read after the files it imports', () => {
    const files = new Set(sources(SRC).sort());
    // Specifiers name the emitted .js file; the graph is of the .ts sources (a folder's index.ts is named as index.js).
    const graph = new Map([...files].map((file) => [file, relativeImports(file).map((target) => target.replace(/\.js$/, '.ts')).filter((target) => files.has(target))]));
    expect(cycles(graph).map((cycle) => cycle.map((file) => relative(SRC, file)).join(' -> '))).toEqual([]);
  });
});
