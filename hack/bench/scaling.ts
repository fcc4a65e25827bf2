// The scaling table of `make bench` (LATHE_BENCH_SCALE=on: 1,000, 2,000 and 5,000 runs; =full adds
// 10,000), for Lathe and for the peer in turn: each controller restarted with nothing cached, then
// grown to each size by one burst of suspended objects (TrainingRuns; TrainJobs), and at each size
// the burst's time, the controller's lag and CPU per object, RSS at rest (and per cached object
// above the empty controller's), and the time of one full resync.
//
// One full resync is measured the same way for both: the controller restarted, until it has
// reconciled every cached object once (its reconcile counter reaches the number cached and its work
// queue is empty). That pass (list, cache, reconcile all) is what a controller-runtime resync is:
// Trainer and JobSet resync only at start and every 10 hours (SyncPeriod), Lathe also every
// LATHE_RESYNC_MS from its cache, which is cheaper than this pass.
//
// The plot is an SVG written here and turned into a PNG by the Chromium that the console's tests
// already drive through playwright-core (hack/browser.sh): no plotting library to add. matplotlib
// would have to join the Python venv's requirements, which would rebuild that venv (torch and all)
// for every suite that uses it, for one chart.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
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

/** One controller (Lathe's operator; Trainer + JobSet) as the scaling steps drive it. */
export interface ScaleSubject {
  name: string;
  /** Creates `n` suspended objects named `prefix0..` (32 at a time, as the bench's client). */
  create(prefix: string, n: number): Promise<void>;
  /** Jobs made so far for this subject's objects. */
  jobs(): Promise<number>;
  /** CPU seconds so far, of every process of the controller. */
  cpuS(): number;
  rssMb(): Promise<number>;
  /** Resolves when the controller has stopped writing. */
  settle(): Promise<void>;
  restart(): Promise<void>;
  /** Objects reconciled since the last (re)start, and whether its work queue is empty. */
  reconciled(): Promise<{ count: number; idle: boolean }>;
}

export function scales(): number[] {
  const mode = process.env.LATHE_BENCH_SCALE ?? 'off';
  if (mode === 'off') return [];
  const custom = mode.split(',').map(Number).filter((n) => n > 0);
  if (custom.length > 0 && mode !== 'full') return custom; // e.g. LATHE_BENCH_SCALE=100,200 for a quick run
  return mode === 'full' ? [1000, 2000, 5000, 10_000] : [1000, 2000, 5000];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rssAtRest(s: ScaleSubject): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 6; i++) {
    await sleep(5000);
    samples.push(await s.rssMb());
  }
  return percentile(samples, 50);
}

/** One full resync: from the restart until every one of `cached` objects was reconciled once. */
async function resyncTime(s: ScaleSubject, cached: number): Promise<number> {
  const t0 = performance.now();
  await s.restart();
  return waitFor('a full resync', async () => {
    const r = await s.reconciled();
    return r.count >= cached && r.idle ? performance.now() - t0 : undefined;
  }, 1_800_000, 100);
}

/** Grows the subject's cache from empty (it is restarted first) through `sizes`, measuring at each. */
export async function scaling(s: ScaleSubject, sizes: number[], out: (line: string) => void): Promise<ScalePoint[]> {
  await s.restart();
  await s.settle();
  const baseMb = await rssAtRest(s);
  out(`[bench] scaling, ${s.name}: with nothing cached, at rest: ${baseMb.toFixed(1)} MB`);
  const points: ScalePoint[] = [];
  let have = 0;
  for (const runs of sizes) {
    const add = runs - have;
    const target = (await s.jobs()) + add;
    const cpu0 = s.cpuS();
    const t0 = performance.now();
    await s.create(`scale${runs}-`, add);
    const tCreated = performance.now();
    const done = await waitFor(`${add} more Jobs`, async () => ((await s.jobs()) >= target ? performance.now() : undefined), 3_600_000, 250);
    const cpuMsPerRun = ((s.cpuS() - cpu0) * 1000) / add;
    have = runs;
    await s.settle();
    const rssMb = await rssAtRest(s);
    const resyncMs = await resyncTime(s, runs);
    const p: ScalePoint = { runs, burstMs: done - t0, lagMs: Math.max(0, done - tCreated), cpuMsPerRun, rssMb, rssKbPerRun: ((rssMb - baseMb) * 1000) / runs, resyncMs };
    points.push(p);
    out(`  ${s.name}, ${runs} cached (+${add} at once): Jobs after ${(p.burstMs / 1000).toFixed(2)} s, lag ${(p.lagMs / 1000).toFixed(2)} s, ${cpuMsPerRun.toFixed(2)} CPU ms each; RSS at rest ${rssMb.toFixed(1)} MB (${p.rssKbPerRun.toFixed(1)} kB each above empty); one full resync ${(resyncMs / 1000).toFixed(2)} s`);
  }
  return points;
}

export interface Curves {
  lathe: ScalePoint[];
  peer?: ScalePoint[];
}

const both = (l: string, p: string | undefined) => (p === undefined ? l : `${l} · ${p}`);

export function scalingTable(c: Curves): string {
  const head = c.peer ? ' (Lathe · peer)' : '';
  const lines = [
    `| runs cached | burst → all Jobs${head} | lag after last create | CPU per run | RSS at rest | RSS per run | one full resync |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [i, l] of c.lathe.entries()) {
    const p = c.peer?.[i];
    const cell = (f: (x: ScalePoint) => string) => both(f(l), p && f(p));
    lines.push(`| ${l.runs} | ${cell((x) => `${(x.burstMs / 1000).toFixed(2)} s`)} | ${cell((x) => `${(x.lagMs / 1000).toFixed(2)} s`)} | ${cell((x) => `${x.cpuMsPerRun.toFixed(2)} ms`)} | ${cell((x) => `${x.rssMb.toFixed(1)} MB`)} | ${cell((x) => `${x.rssKbPerRun.toFixed(1)} kB`)} | ${cell((x) => `${(x.resyncMs / 1000).toFixed(2)} s`)} |`);
  }
  return lines.join('\n');
}

/** A cost per object that at the largest size is more than this times the smallest's grows faster than linearly. */
export const SUPERLINEAR = 1.5;

/**
 * Where a cost grows faster than linearly: each per-object figure (CPU, RSS above empty, resync
 * time, lag) at the largest size against the smallest. One line per subject.
 */
export function linearity(name: string, points: ScalePoint[]): string {
  if (points.length < 2) return `${name}: one size only, no slope`;
  const [a, b] = [points[0]!, points[points.length - 1]!];
  // The last burst added what the size before it lacked; the first, everything.
  const added = (i: number) => points[i]!.runs - (i > 0 ? points[i - 1]!.runs : 0);
  const per = (x: ScalePoint, add: number) => ({
    'CPU per object': x.cpuMsPerRun,
    'RSS per object': x.rssKbPerRun,
    'resync time per object': x.resyncMs / x.runs,
    'lag per object added': x.lagMs / add,
  });
  const [pa, pb] = [per(a, added(0)), per(b, added(points.length - 1))];
  const grows = (Object.keys(pa) as (keyof typeof pa)[])
    .filter((k) => pa[k] > 0 && pb[k] / pa[k] > SUPERLINEAR)
    .map((k) => `${k} ${(pb[k] / pa[k]).toFixed(2)}x`);
  return grows.length === 0
    ? `${name}: nothing grows faster than linearly (every per-object figure at ${b.runs} within ${SUPERLINEAR}x of ${a.runs}'s)`
    : `${name}: grows faster than linearly from ${a.runs} to ${b.runs}: ${grows.join(', ')}`;
}

interface Series {
  label: string;
  color: string;
  points: ScalePoint[];
}

/** Three panels against runs cached (RSS, CPU per run, one full resync), one line per subject, as SVG. */
function svg(c: Curves): string {
  const W = 420;
  const H = 300;
  const pad = { l: 60, r: 20, t: 62, b: 45 }; // the legend sits above the axes, clear of the lines
  const series: Series[] = [{ label: 'Lathe', color: '#1f77b4', points: c.lathe }, ...(c.peer ? [{ label: 'Kubeflow Trainer + JobSet', color: '#d62728', points: c.peer }] : [])];
  const xs = c.lathe.map((p) => p.runs);
  const maxX = Math.max(...xs);
  const panel = (x0: number, title: string, unit: string, value: (p: ScalePoint) => number) => {
    const maxY = Math.max(...series.flatMap((s) => s.points.map(value))) * 1.15 || 1;
    const px = (v: number) => x0 + pad.l + (v / maxX) * (W - pad.l - pad.r);
    const py = (v: number) => pad.t + (1 - v / maxY) * (H - pad.t - pad.b);
    const parts: string[] = [`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-weight="bold">${title}</text>`];
    parts.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(maxX)}" y2="${py(0)}" stroke="#444"/><line x1="${px(0)}" y1="${py(0)}" x2="${px(0)}" y2="${py(maxY)}" stroke="#444"/>`);
    for (let i = 0; i <= 4; i++) {
      const v = (maxY / 4) * i;
      parts.push(`<text x="${px(0) - 6}" y="${py(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(v < 10 ? 1 : 0)}</text>`);
    }
    for (const x of xs) parts.push(`<text x="${px(x)}" y="${py(0) + 16}" text-anchor="middle" font-size="11">${x}</text>`);
    parts.push(`<text x="${x0 + W / 2}" y="${H - 8}" text-anchor="middle" font-size="12">runs cached</text><text x="${x0 + 14}" y="${H / 2}" transform="rotate(-90 ${x0 + 14} ${H / 2})" text-anchor="middle" font-size="12">${unit}</text>`);
    series.forEach((s, k) => {
      parts.push(`<polyline points="${s.points.map((p) => `${px(p.runs)},${py(value(p))}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
      for (const p of s.points) parts.push(`<circle cx="${px(p.runs)}" cy="${py(value(p))}" r="3" fill="${s.color}"/>`);
      parts.push(`<text x="${px(0) + 10}" y="${36 + 14 * k}" font-size="12" fill="${s.color}">${s.label}</text>`);
    });
    return parts.join('');
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${3 * W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>` +
    panel(0, 'RSS at rest', 'MB', (p) => p.rssMb) +
    panel(W, 'CPU per run, for the burst', 'ms', (p) => p.cpuMsPerRun) +
    panel(2 * W, 'One full resync', 's', (p) => p.resyncMs / 1000) +
    '</svg>';
}

/** Writes scaling.json, scaling.svg and scaling.png into `dir`; returns the PNG's path (or why not). */
export async function writePlot(c: Curves, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'scaling.json'), `${JSON.stringify(c, null, 2)}\n`);
  const image = svg(c);
  writeFileSync(path.join(dir, 'scaling.svg'), image);
  const png = path.join(dir, 'scaling.png');
  try {
    const executablePath = execFileSync(path.join(repoRoot, 'hack/browser.sh'), ['path'], { encoding: 'utf8' }).trim();
    const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1260, height: 300 } });
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
