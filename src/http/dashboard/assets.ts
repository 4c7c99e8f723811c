/** The dashboard's styles: inline, no external resource. */
export const STYLE = `
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#667;--line:#dde;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--accent:#0b5cad}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#8b949e;--line:#30363d;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--accent:#58a6ff}}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;justify-content:space-between;align-items:center;padding:.6rem 1.2rem;border-bottom:1px solid var(--line)}
.brand{font-weight:700;color:var(--fg);text-decoration:none}main{padding:1rem 1.2rem;max-width:1400px}
a{color:var(--accent)}h1{font-size:1.3rem;margin:.4rem 0}h2{font-size:1.05rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:middle;overflow-wrap:anywhere}
th{color:var(--muted);font-weight:600}tr.ejected td{background:color-mix(in srgb,var(--bad) 10%,transparent)}
.pill{display:inline-block;padding:.1rem .55rem;margin:0 .3rem .3rem 0;border:1px solid var(--line);border-radius:1rem;font-size:.85rem}
.pill.ok{border-color:var(--ok);color:var(--ok)}.bad{color:var(--bad)}.pill.bad{border-color:var(--bad)}.warn{color:var(--warn)}
.tag{display:inline-block;margin-right:.3rem;padding:0 .35rem;border-radius:.25rem;background:color-mix(in srgb,var(--muted) 18%,transparent);font-size:.85rem}
.charts{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0;padding:.5rem;border:1px solid var(--line);border-radius:.4rem}figcaption{color:var(--muted);font-size:.85rem}
.spark{display:inline-block;vertical-align:middle}.spark polyline{fill:none;stroke:var(--accent);stroke-width:1.5}.spark polyline.second{stroke:var(--warn)}
input[type=search]{width:min(28rem,100%);padding:.35rem .5rem;font:inherit;color:inherit;background:transparent;border:1px solid var(--line);border-radius:.3rem}
button{font:inherit;padding:.3rem .8rem;border:1px solid var(--line);border-radius:.3rem;background:transparent;color:inherit;cursor:pointer}
.pager a{margin:0 .5rem}.login{max-width:22rem;margin:5rem auto}.login input{display:block;width:100%;margin:.4rem 0 .8rem;padding:.4rem}
`;

/**
 * The page's only script: it asks for the view again every 2 s with the
 * ETag it holds (304 when nothing changed) and swaps in the server-rendered,
 * escaped HTML; keeps the filter box's focus; shows ages from `data-at`
 * against the server's clock (`x-edge-now`).
 */
export const CLIENT_SCRIPT = `(() => {
const live = document.getElementById('live');
let etag = '', skew = 0, timer = 0, inflight = false;
const params = () => new URLSearchParams(location.search);
const age = (ms) => ms < 1500 ? 'now' : ms < 90000 ? Math.round(ms / 1000) + ' s ago' : Math.round(ms / 60000) + ' min ago';
const ages = () => { const now = Date.now() + skew; for (const el of live.querySelectorAll('[data-at]')) el.textContent = age(now - Number(el.dataset.at)); };
async function refresh() {
  if (inflight) return; inflight = true;
  try {
    const r = await fetch(location.pathname + location.search, { headers: { 'x-edge-fragment': '1', ...(etag ? { 'if-none-match': etag } : {}) }, credentials: 'same-origin', cache: 'no-store' });
    if (r.status === 401) { location.reload(); return; }
    const now = Number(r.headers.get('x-edge-now')); if (now) skew = now - Date.now();
    if (r.status !== 200) return;
    etag = r.headers.get('etag') || '';
    const box = live.querySelector('[data-filter]'); const focused = box && document.activeElement === box;
    const typed = box ? box.value : null; const caret = box ? box.selectionStart : null;
    live.innerHTML = await r.text();
    const again = live.querySelector('[data-filter]');
    if (again && typed !== null) { again.value = typed; if (focused) { again.focus(); again.setSelectionRange(caret, caret); } }
    ages();
  } catch {} finally { inflight = false; }
}
function go(change) { const p = params(); change(p); history.replaceState(null, '', location.pathname + (p.toString() ? '?' + p : '')); etag = ''; refresh(); }
live.addEventListener('input', (e) => { if (!e.target.matches('[data-filter]')) return; clearTimeout(timer); const q = e.target.value; timer = setTimeout(() => go((p) => { q ? p.set('q', q) : p.delete('q'); p.delete('page'); }), 200); });
live.addEventListener('click', (e) => { const a = e.target.closest('[data-page]'); if (!a) return; e.preventDefault(); go((p) => p.set('page', a.dataset.page)); });
ages(); setInterval(ages, 1000); setInterval(refresh, 2000); refresh();
})();`;
