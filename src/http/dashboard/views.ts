import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { EjectionState } from '../../balance/index.js';
import type { Instance, SkippedRecord } from '../../registry/index.js';
import type { TrafficSeries } from '../../gateway/index.js';
import { CLIENT_SCRIPT, STYLE } from './assets.js';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** What the overview shows of one service. */
export interface ServiceRow {
  service: string;
  instances: number;
  ejected: number;
  skipped: number;
  revision: number;
  /** When the snapshot was last known current (ms since the epoch). */
  currentAt: number;
  source: string;
  traffic: TrafficSeries | undefined;
}

export interface Overview {
  source: string;
  /** The etcd (or relay, or hub) state in a few words, and whether it is healthy. */
  upstream: { name: string; ok: boolean; detail: string };
  rows: ServiceRow[];
  /** Names asked for that have no instances: counted, not listed. */
  empty: number;
}

export interface ServiceDetail {
  row: ServiceRow;
  instances: { instance: Instance; ejection: EjectionState | undefined }[];
  skipped: SkippedRecord[];
}

/** Rows shown per page of a list. */
export const PAGE = 100;

/** The page around a view: styles, the live-update script, no external resource. */
export function page(title: string, nonce: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · etcd-edge</title><style nonce="${nonce}">${raw(STYLE)}</style></head>
<body><header><a href="/_edge/" class="brand">etcd-edge</a><form method="post" action="/_edge/logout"><button>Sign out</button></form></header>
<main id="live" data-live="1">${body}</main>
<script nonce="${nonce}">${raw(CLIENT_SCRIPT)}</script></body></html>`;
}

export function loginPage(nonce: string, failed: boolean): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · etcd-edge</title><style nonce="${nonce}">${raw(STYLE)}</style></head>
<body><main class="login"><h1>etcd-edge</h1>
<form method="post" action="/_edge/login"><label>Admin token <input type="password" name="token" autocomplete="current-password" autofocus required></label>
<button>Sign in</button></form>${failed ? html`<p class="bad" role="alert">That token is not the admin token.</p>` : ''}</main></body></html>`;
}

/** Every service the gateway knows, filtered and paged. */
export function overviewView(overview: Overview, query: string, pageNumber: number): Html {
  const shown = filtered(overview.rows, query, (row) => row.service);
  const rows = shown.slice(pageNumber * PAGE, (pageNumber + 1) * PAGE);
  return html`<section class="status"><span class="pill ${overview.upstream.ok ? 'ok' : 'bad'}">${overview.upstream.name}: ${overview.upstream.detail}</span>
<span class="pill">snapshots from ${overview.source}</span><span class="pill">${overview.rows.length} services</span>${overview.empty > 0 ? html`<span class="pill">${overview.empty} names without instances</span>` : ''}</section>
${filterBox(query, 'Filter services')}
<table class="services"><thead><tr><th>Service</th><th>Instances</th><th>Ejected</th><th>Skipped</th><th>Requests (5 min)</th><th>Errors</th><th>p99</th><th>Revision</th><th>Age</th></tr></thead><tbody>
${rows.map((row) => {
  const t = totals(row.traffic);
  return html`<tr data-service="${row.service}"><td><a href="/_edge/?service=${encodeURIComponent(row.service)}">${row.service}</a></td><td>${row.instances}</td>
<td class="${row.ejected > 0 ? 'bad' : ''}">${row.ejected}</td><td class="${row.skipped > 0 ? 'warn' : ''}">${row.skipped}</td>
<td>${sparkline(row.traffic?.requests ?? [], 120, 24)} ${t.requests}</td><td class="${t.errors > 0 ? 'bad' : ''}">${percent(t.errors, t.requests)}</td><td>${ms(last(row.traffic?.p99))}</td>
<td>${row.revision}</td><td data-at="${row.currentAt}">–</td></tr>`;
})}</tbody></table>${pager(shown.length, pageNumber)}`;
}

/** One service: its snapshot, charts of the last minutes, instances (filtered, paged) and skipped records. */
export function serviceView(detail: ServiceDetail, query: string, pageNumber: number): Html {
  const { row } = detail;
  const shown = filtered(detail.instances, query, ({ instance }) => `${instance.id} ${instance.url} ${Object.entries(instance.tags).flat().join(' ')}`);
  const t = row.traffic;
  return html`<p><a href="/_edge/">← all services</a></p><h1>${row.service}</h1>
<section class="status"><span class="pill">revision ${row.revision}</span><span class="pill" data-at="${row.currentAt}">–</span><span class="pill">${row.source}</span>
<span class="pill">${row.instances} instances</span>${row.ejected > 0 ? html`<span class="pill bad">${row.ejected} ejected</span>` : ''}</section>
<section class="charts">${chart('Requests per 10 s', t?.requests ?? [], (v) => String(v))}
${chart('Error rate', t ? t.errors.map((e, i) => (t.requests[i]! > 0 ? e / t.requests[i]! : 0)) : [], (v) => `${Math.round(v * 100)} %`)}
${chart('p50 / p99 latency', t ? t.p99.map((v) => v ?? 0) : [], (v) => `${v} ms`, t ? t.p50.map((v) => v ?? 0) : undefined)}</section>
${filterBox(query, 'Filter instances (id, URL, tag)')}
<table class="instances"><thead><tr><th>Id</th><th>URL</th><th>Weight</th><th>Tags</th><th>Layout</th><th>State</th><th>In flight</th><th>Failures in a row</th></tr></thead><tbody>
${shown.slice(pageNumber * PAGE, (pageNumber + 1) * PAGE).map(({ instance, ejection }) => {
  const ejected = ejection?.ejectedUntil !== undefined;
  return html`<tr class="${ejected ? 'ejected' : ''}" data-instance="${instance.id}"><td>${instance.id}</td><td>${instance.url}</td><td>${instance.weight}</td>
<td>${Object.entries(instance.tags).map(([k, v]) => html`<span class="tag">${k}=${v}</span>`)}</td><td>${instance.layout}</td>
<td>${ejected ? html`<span class="pill bad">ejected</span>` : html`<span class="pill ok">serving</span>`}</td><td>${ejection?.inFlight ?? 0}</td><td>${ejection?.consecutiveFailures ?? 0}</td></tr>`;
})}</tbody></table>${pager(shown.length, pageNumber)}
${detail.skipped.length > 0
  ? html`<h2>Skipped records</h2><table><thead><tr><th>Key</th><th>Layout</th><th>Reason</th></tr></thead><tbody>${detail.skipped.slice(0, PAGE).map((s) => html`<tr><td>${s.key}</td><td>${s.layout}</td><td>${s.reason}</td></tr>`)}</tbody></table>`
  : ''}`;
}

export function unknownService(service: string): Html {
  return html`<p><a href="/_edge/">← all services</a></p><h1>${service}</h1><p>The gateway holds nothing for this service.</p>`;
}

function filterBox(query: string, label: string): Html {
  return html`<p><input type="search" name="q" value="${query}" placeholder="${label}" aria-label="${label}" data-filter="1"></p>`;
}

function pager(count: number, pageNumber: number): Html {
  const pages = Math.max(1, Math.ceil(count / PAGE));
  if (pages === 1) return html``;
  return html`<nav class="pager">${pageNumber > 0 ? html`<a data-page="${pageNumber - 1}" href="#">‹ previous</a>` : ''} page ${pageNumber + 1} of ${pages} (${count})
${pageNumber + 1 < pages ? html`<a data-page="${pageNumber + 1}" href="#">next ›</a>` : ''}</nav>`;
}

function chart(title: string, values: number[], label: (v: number) => string, second?: number[]): Html {
  const top = Math.max(0, ...values, ...(second ?? []));
  return html`<figure><figcaption>${title} <b>${values.length ? label(last(values) ?? 0) : '–'}</b></figcaption>${sparkline(values, 300, 60, top, second)}</figure>`;
}

/** An inline SVG line of `values` (numbers only: nothing from the registry reaches it). */
function sparkline(values: number[], width: number, height: number, top = Math.max(0, ...values), second?: number[]): Html {
  const points = (series: number[]) =>
    series.map((v, i) => `${((i / Math.max(1, series.length - 1)) * width).toFixed(1)},${(height - 1 - (top > 0 ? (v / top) * (height - 2) : 0)).toFixed(1)}`).join(' ');
  return html`<svg class="spark" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-hidden="true"><polyline points="${points(values)}"/>${second ? html`<polyline class="second" points="${points(second)}"/>` : ''}</svg>`;
}

function filtered<T>(items: T[], query: string, text: (item: T) => string): T[] {
  const q = query.trim().toLowerCase();
  return q === '' ? items : items.filter((item) => text(item).toLowerCase().includes(q));
}

function totals(traffic: TrafficSeries | undefined): { requests: number; errors: number } {
  let requests = 0;
  let errors = 0;
  for (let i = 0; i < (traffic?.requests.length ?? 0); i++) {
    requests += traffic!.requests[i]!;
    errors += traffic!.errors[i]!;
  }
  return { requests, errors };
}

function last<T>(values: readonly T[] | undefined): T | undefined {
  for (let i = (values?.length ?? 0) - 1; i >= 0; i--) if (values![i] !== undefined) return values![i];
  return undefined;
}

const percent = (part: number, whole: number): string => (whole === 0 ? '–' : `${((part / whole) * 100).toFixed(part === 0 ? 0 : 1)} %`);
const ms = (value: number | undefined): string => (value === undefined ? '–' : `≤ ${value} ms`);
