// The scaling table of `make bench` (LATHE_BENCH_SCALE=on: 1,000, 2,000 and 5,000 runs; =full adds
// 10,000): the operator restarted with nothing cached, then grown to each size by one burst of
// suspended runs, and at each size the burst's time and the operator's lag and CPU per run, RSS at
// rest (and per cached run above the empty operator's), and the time one full resync takes.
//
// The plot is an SVG written here and turned into a PNG by the Chromium that the console's tests
// already drive through playwright-core (hack/browser.sh): no plotting library to add. matplotlib
// would have to join the Python venv's requirements, which would rebuild that venv (torch and all)
// for every suite that uses it, for one chart.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import type { OperatorProcess } from '../../test/support/operator-process.js';
import { metricSum } from '../../test/support/operator-process.js';
import { repoRoot } from '../../test/support/cluster.js';
import { waitFor } from '../../test/support/wait.js';
import { percentile } from './procs.js';

export interface ScalePoint {
  runs: number;
  burstMs: number;
  lagMs: number;
  cpuMsPerRun: number;
  rssMb: number;
  rssKbPerRun: number;
  resyncMs: number;
}

export interface ScalingContext {
  op: OperatorProcess;
  /** Creates `n` suspended runs named `prefix0..` (32 at a time, as the bench's client). */
  createRuns: (prefix: string, n: number) => Promise<void>;
  operatorCpu: () => number;
  settle: () => Promise<void>;
  out: (s: string) => void;
  resyncMs: number;
}

export function scales(): number[] {
  const mode = process.env.LATHE_BENCH_SCALE ?? 'off';
  if (mode === 'off') return [];
  const custom = mode.split(',').map(Number).filter((n) => n > 0);
  if (custom.length > 0 && mode !== 'full') return custom; // e.g. LATHE_BENCH_SCALE=100,200 for a quick run
  return mode === 'full' ? [1000, 2000, 5000, 10_000] : [1000, 2000, 5000];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rssAtRest(op: OperatorProcess): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 6; i++) {
    await sleep(5000);
    samples.push(metricSum(await op.metrics(), 'process_resident_memory_bytes') / 1e6);
  }
  return percentile(samples, 50);
}

/** One full resync: from the first reconcile it queues until `cached` more have run. */
async function resyncTime(op: OperatorProcess, cached: number, periodMs: number): Promise<number> {
  const reconciles = async () => metricSum(await op.metrics(), 'controller_runtime_reconcile_total', { controller: 'trainingrun' });
  const r0 = await reconciles();
  const start = await waitFor('a resync to start', async () => ((await reconciles()) > r0 ? performance.now() : undefined), 3 * periodMs, 100);
  await waitFor('the resync to finish', async () => (await reconciles()) >= r0 + cached || undefined, 600_000, 100);
  return performance.now() - start;
}

/** Grows the (restarted, empty) operator's cache through `sizes`, measuring at each. */
export async function scaling(ctx: ScalingContext, sizes: number[]): Promise<ScalePoint[]> {
  const { op, out } = ctx;
  await ctx.settle();
  const baseMb = await rssAtRest(op);
  out(`[bench] scaling: the operator with nothing cached, at rest: ${baseMb.toFixed(1)} MB`);
  const jobsCreated = async () => metricSum(await op.metrics(), 'lathe_api_writes_total', { resource: 'jobs', verb: 'create', code: '2xx' });
  const points: ScalePoint[] = [];
  let have = 0;
  for (const runs of sizes) {
    const add = runs - have;
    const target = (await jobsCreated()) + add;
    const cpu0 = ctx.operatorCpu();
    const t0 = performance.now();
    await ctx.createRuns(`scale${runs}-`, add);
    const tCreated = performance.now();
    // From the operator's own counter: a client watch over thousands of creates can drop events.
    const done = await waitFor(`${add} more Jobs`, async () => ((await jobsCreated()) >= target ? performance.now() : undefined), 1_800_000, 100);
    const cpuMsPerRun = ((ctx.operatorCpu() - cpu0) * 1000) / add;
    have = runs;
    await ctx.settle();
    const rssMb = await rssAtRest(op);
    const resyncMs = await resyncTime(op, runs, ctx.resyncMs);
    const p: ScalePoint = { runs, burstMs: done - t0, lagMs: Math.max(0, done - tCreated), cpuMsPerRun, rssMb, rssKbPerRun: ((rssMb - baseMb) * 1000) / runs, resyncMs };
    points.push(p);
    out(`  ${runs} runs cached (+${add} at once): Jobs after ${(p.burstMs / 1000).toFixed(2)} s, lag ${(p.lagMs / 1000).toFixed(2)} s, ${cpuMsPerRun.toFixed(2)} CPU ms per run; RSS at rest ${rssMb.toFixed(1)} MB (${p.rssKbPerRun.toFixed(1)} kB per run above empty); one full resync ${(resyncMs / 1000).toFixed(2)} s`);
  }
  return points;
}

export function scalingTable(points: ScalePoint[]): string {
  const lines = ['| runs cached | burst → all Jobs | lag after last create | CPU per run | RSS at rest | RSS per run | one full resync |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const p of points) {
    lines.push(`| ${p.runs} | ${(p.burstMs / 1000).toFixed(2)} s | ${(p.lagMs / 1000).toFixed(2)} s | ${p.cpuMsPerRun.toFixed(2)} ms | ${p.rssMb.toFixed(1)} MB | ${p.rssKbPerRun.toFixed(1)} kB | ${(p.resyncMs / 1000).toFixed(2)} s |`);
  }
  return lines.join('\n');
}

/** Two panels (RSS; CPU per run and resync time) against runs cached, as SVG. */
function svg(points: ScalePoint[]): string {
  const W = 420;
  const H = 300;
  const pad = { l: 60, r: 20, t: 30, b: 45 };
  const maxX = Math.max(...points.map((p) => p.runs));
  const panel = (x0: number, title: string, series: { label: string; color: string; values: number[] }[], unit: string) => {
    const maxY = Math.max(...series.flatMap((s) => s.values)) * 1.15 || 1;
    const px = (v: number) => x0 + pad.l + (v / maxX) * (W - pad.l - pad.r);
    const py = (v: number) => pad.t + (1 - v / maxY) * (H - pad.t - pad.b);
    const parts: string[] = [`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-weight="bold">${title}</text>`];
    parts.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(maxX)}" y2="${py(0)}" stroke="#444"/><line x1="${px(0)}" y1="${py(0)}" x2="${px(0)}" y2="${py(maxY)}" stroke="#444"/>`);
    for (let i = 0; i <= 4; i++) {
      const v = (maxY / 4) * i;
      parts.push(`<text x="${px(0) - 6}" y="${py(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(v < 10 ? 1 : 0)}</text>`);
    }
    for (const p of points) parts.push(`<text x="${px(p.runs)}" y="${py(0) + 16}" text-anchor="middle" font-size="11">${p.runs}</text>`);
    parts.push(`<text x="${x0 + W / 2}" y="${H - 8}" text-anchor="middle" font-size="12">runs cached</text><text x="${x0 + 14}" y="${H / 2}" transform="rotate(-90 ${x0 + 14} ${H / 2})" text-anchor="middle" font-size="12">${unit}</text>`);
    series.forEach((s, k) => {
      const pts = points.map((p, i) => `${px(p.runs)},${py(s.values[i]!)}`).join(' ');
      parts.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
      for (const [i, p] of points.entries()) parts.push(`<circle cx="${px(p.runs)}" cy="${py(s.values[i]!)}" r="3" fill="${s.color}"/>`);
      parts.push(`<text x="${px(0) + 10}" y="${pad.t + 14 + 14 * k}" font-size="12" fill="${s.color}">${s.label}</text>`);
    });
    return parts.join('');
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>` +
    panel(0, 'Operator RSS at rest', [{ label: 'RSS (MB)', color: '#1f77b4', values: points.map((p) => p.rssMb) }], 'MB') +
    panel(W, 'Cost per run and per resync', [
      { label: 'CPU per run (ms)', color: '#d62728', values: points.map((p) => p.cpuMsPerRun) },
      { label: 'one full resync (s)', color: '#2ca02c', values: points.map((p) => p.resyncMs / 1000) },
    ], 'ms / s') +
    '</svg>';
}

/** Writes scaling.json, scaling.svg and scaling.png into `dir`; returns the PNG's path (or why not). */
export async function writePlot(points: ScalePoint[], dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'scaling.json'), `${JSON.stringify(points, null, 2)}\n`);
  const image = svg(points);
  writeFileSync(path.join(dir, 'scaling.svg'), image);
  const png = path.join(dir, 'scaling.png');
  try {
    const executablePath = execFileSync(path.join(repoRoot, 'hack/browser.sh'), ['path'], { encoding: 'utf8' }).trim();
    const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 840, height: 300 } });
      await page.setContent(`<html><body style="margin:0">${image}</body></html>`);
      await page.screenshot({ path: png });
    } finally {
      await browser.close();
    }
    return png;
  } catch (err) {
    return `no PNG (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); the SVG is ${path.join(dir, 'scaling.svg')}`;
  }
}
