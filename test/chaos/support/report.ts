import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChaosRow } from './mode.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const REPORT = join(ROOT, 'RELIABILITY.md');
const START = '<!-- chaos:start -->';
const END = '<!-- chaos:end -->';

/**
 * Vitest global setup for `npm run chaos`: gives the scenarios a directory to
 * leave their rows in, and afterwards rewrites the table in RELIABILITY.md
 * from what they measured. Scenarios that failed leave no row; the table says so.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-edge-chaos-'));
  process.env.ETCD_EDGE_CHAOS_OUT = dir;
  return () => {
    const files = readdirSync(dir);
    const rows = files
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as ChaosRow & { file: string })
      .filter((row) => !files.includes(`${row.file}.failed`))
      .sort((a, b) => a.id - b.id);
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(REPORT, withTable(readFileSync(REPORT, 'utf8'), renderTable(rows)));
  };
}

export function renderTable(rows: readonly ChaosRow[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const missing = Array.from({ length: 11 }, (_, i) => i + 1).filter((id) => !rows.some((r) => r.id === id));
  return [
    `Measured by \`npm run chaos\` on ${new Date().toISOString().slice(0, 10)} (${process.platform}, Node ${process.versions.node}).`,
    '',
    '| # | Scenario | Load | Fault injected | Client-visible failures | Lost | Other figures |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.id} | ${cell(r.scenario)} | ${cell(r.load)} | ${cell(r.fault)} | ${cell(r.failures)} | ${cell(r.lost)} | ${cell(r.figures)} |`),
    ...(missing.length ? ['', `No row for scenario ${missing.join(', ')}: it failed or did not run in this run; see the test output.`] : []),
  ].join('\n');
}

function withTable(document: string, table: string): string {
  const start = document.indexOf(START);
  const end = document.indexOf(END);
  if (start < 0 || end < start) throw new Error(`RELIABILITY.md has no ${START} … ${END} block to rewrite`);
  return `${document.slice(0, start + START.length)}\n${table}\n${document.slice(end)}`;
}
