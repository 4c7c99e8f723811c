// The latency chart of BENCHMARKS.md, drawn by Vega-Lite and rendered to SVG
// headless (Vega's 'none' renderer needs no browser and no canvas).
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

/**
 * Grouped bars of p50 / p99 / p99.9 per contender, one panel per
 * concurrency, on a log scale: direct at one connection and the slowest
 * contender at 64 differ by three orders of magnitude.
 * @param {{ contender: string, concurrency: number, percentile: string, ms: number }[]} points
 */
export async function latencySvg(points) {
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Latency through each proxy (wrk, median of rounds; lower is better)',
    data: { values: points.map((p) => ({ ...p, panel: `${p.concurrency} connection${p.concurrency === 1 ? '' : 's'}` })) },
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: { field: 'concurrency' } } },
    spec: {
      width: 360,
      height: 260,
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'contender', type: 'nominal', title: null, sort: null, axis: { labelAngle: -30 } },
        xOffset: { field: 'percentile', type: 'nominal', sort: ['p50', 'p99', 'p99.9'] },
        // Unstacked: a stacked bar starts at 0, which a log scale cannot show (the axis loses its ticks).
        y: { field: 'ms', type: 'quantitative', title: 'latency (ms, log scale)', scale: { type: 'log' }, stack: null },
        color: { field: 'percentile', type: 'nominal', sort: ['p50', 'p99', 'p99.9'], scale: { scheme: 'tableau10' }, title: 'percentile' },
      },
    },
    config: { font: 'sans-serif', background: 'white' },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
