import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, expect } from 'vitest';

/**
 * `npm test` runs every chaos scenario at a small scale; `npm run chaos` sets
 * ETCD_EDGE_CHAOS=full and runs them at the scale RELIABILITY.md reports.
 */
export const FULL = process.env.ETCD_EDGE_CHAOS === 'full';

/** The fast value under `npm test`, the full one under `npm run chaos`. */
export function scale<T>(fast: T, full: T): T {
  return FULL ? full : fast;
}

/** One line of the RELIABILITY.md table: what was done and what it cost. */
export interface ChaosRow {
  /** Scenario number from the issue (1-11); orders the table. */
  id: number;
  scenario: string;
  /** Traffic during the fault, e.g. "4 clients, GET, 1,200 requests". */
  load: string;
  /** What was broken, e.g. "leader SIGKILL, then a follower; both restarted". */
  fault: string;
  /** Client-visible failures, e.g. "0 of 1,200". */
  failures: string;
  /** What was lost (requests, registrations, updates) or "nothing". */
  lost: string;
  /** Other measured figures: recovery times, memory, etc. */
  figures: string;
}

/**
 * Keeps a scenario's measured row for the report. Only `npm run chaos` collects
 * rows (it sets ETCD_EDGE_CHAOS_OUT); under `npm test` this does nothing.
 */
export function record(row: ChaosRow): void {
  const dir = process.env.ETCD_EDGE_CHAOS_OUT;
  if (!dir || existsSync(failedMarker(dir))) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${String(row.id).padStart(2, '0')}-${slug(row.scenario)}.json`), JSON.stringify({ ...row, file: scenarioFile() }, null, 2));
}

// A scenario file with any failed test leaves no row, even from a test that passed after it.
afterEach((context) => {
  const dir = process.env.ETCD_EDGE_CHAOS_OUT;
  if (!dir || context.task.result?.state !== 'fail') return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(failedMarker(dir), context.task.name);
});

function scenarioFile(): string {
  return basename(expect.getState().testPath ?? 'unknown');
}

/** Where a scenario file's failure is noted for the report. */
function failedMarker(dir: string): string {
  return join(dir, `${scenarioFile()}.failed`);
}

/** Thousands separators, so table figures read at a glance. */
export function n(value: number): string {
  return value.toLocaleString('en-US');
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);
}
