// Line charts as inline SVG, drawn on the server from a run's metrics history: no charting library
// in the page and nothing to build. Each chart carries its domain and plot box as data attributes
// (data-x-min, data-plot-left, ...), so a test can map the history to pixels on its own and check
// every vertex the page shows.
import type { MetricsPoint } from '../../../operator/src/api/metadata.js';
import { html, type Html } from './html.js';

export interface Series {
  /** The history field: loss, evalLoss, learningRate. */
  key: string;
  label: string;
  color: string;
}

export interface Box {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export const BOX: Box = { width: 640, height: 240, left: 56, right: 16, top: 16, bottom: 32 };

export interface Domain {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** The [x, y] pairs of one series: the points that have a finite number for `key`. */
export function seriesPoints(points: readonly MetricsPoint[], key: string): [number, number][] {
  return points.flatMap((p) => {
    const v = p[key];
    return typeof v === 'number' && Number.isFinite(v) ? [[p.step, v] as [number, number]] : [];
  });
}

/** Steps and values of every series, widened where flat so that a constant curve is drawn mid-box. */
export function domainOf(all: readonly (readonly [number, number])[]): Domain | undefined {
  if (all.length === 0) return undefined;
  let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity;
  for (const [x, y] of all) {
    xMin = Math.min(xMin, x); xMax = Math.max(xMax, x);
    yMin = Math.min(yMin, y); yMax = Math.max(yMax, y);
  }
  if (xMin === xMax) { xMin -= 1; xMax += 1; }
  if (yMin === yMax) { const d = Math.abs(yMin) * 0.1 || 1; yMin -= d; yMax += d; }
  return { xMin, xMax, yMin, yMax };
}

/** A data point's pixel position in the box (SVG y grows downward). */
export function toPixel([x, y]: readonly [number, number], d: Domain, box: Box = BOX): [number, number] {
  const w = box.width - box.left - box.right;
  const h = box.height - box.top - box.bottom;
  const px = box.left + ((x - d.xMin) / (d.xMax - d.xMin)) * w;
  const py = box.top + (1 - (y - d.yMin) / (d.yMax - d.yMin)) * h;
  return [Math.round(px * 100) / 100, Math.round(py * 100) / 100];
}

const tick = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(3))));

/** One chart of `series` over steps; a chart with no data says so instead of drawing axes. */
export function lineChart(title: string, points: readonly MetricsPoint[], series: readonly Series[], box: Box = BOX): Html {
  const drawn = series.map((s) => ({ ...s, xy: seriesPoints(points, s.key) })).filter((s) => s.xy.length > 0);
  const domain = domainOf(drawn.flatMap((s) => s.xy));
  if (!domain) return html`<figure class="chart empty" data-chart="${title}"><figcaption>${title}</figcaption><p>No points yet.</p></figure>`;
  const { left, top, width, height, right, bottom } = box;
  const x1 = width - right, y1 = height - bottom;
  const lines = drawn.map((s) => {
    const pts = s.xy.map((p) => toPixel(p, domain, box).join(',')).join(' ');
    return html`<polyline data-series="${s.key}" fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts}"></polyline>`;
  });
  const legend = drawn.map((s, i) => html`<text x="${left + 8 + i * 110}" y="${top + 12}" fill="${s.color}" font-size="12">${s.label}</text>`);
  return html`<figure class="chart" data-chart="${title}"><figcaption>${title}</figcaption>
<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${title}"
 data-x-min="${domain.xMin}" data-x-max="${domain.xMax}" data-y-min="${domain.yMin}" data-y-max="${domain.yMax}"
 data-plot-left="${left}" data-plot-top="${top}" data-plot-right="${x1}" data-plot-bottom="${y1}">
<rect x="${left}" y="${top}" width="${x1 - left}" height="${y1 - top}" fill="none" stroke="#ccc"></rect>
<text x="${left - 4}" y="${top + 4}" text-anchor="end" font-size="11">${tick(domain.yMax)}</text>
<text x="${left - 4}" y="${y1}" text-anchor="end" font-size="11">${tick(domain.yMin)}</text>
<text x="${left}" y="${y1 + 14}" font-size="11">step ${domain.xMin}</text>
<text x="${x1}" y="${y1 + 14}" text-anchor="end" font-size="11">${domain.xMax}</text>
${lines}${legend}</svg></figure>`;
}
