// `kubectl lathe console` as a user runs it (the installed plugin, under kubectl), for the browser
// tests: started in the background, its URL read from its first line, stopped with SIGTERM. And the
// check of a drawn curve: the history mapped to pixels here, independently of the page's code.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';

export interface ConsoleProcess {
  url: string;
  /** http://127.0.0.1:PORT, without the token. */
  origin: string;
  stderr(): string;
  stop(): Promise<void>;
}

export async function startConsoleProcess(args: string[], env: NodeJS.ProcessEnv): Promise<ConsoleProcess> {
  const proc: ChildProcess = spawn(process.env.KUBECTL ?? 'kubectl', ['lathe', 'console', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubectl lathe console printed no URL in 30 s: ${stderr}`)), 30_000);
    proc.stdout!.on('data', (b: Buffer) => {
      stdout += b.toString();
      const m = /^(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.on('exit', (code) => reject(new Error(`kubectl lathe console exited ${code}: ${stderr}`)));
  });
  return {
    url,
    origin: new URL(url).origin,
    stderr: () => stderr,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await once(proc, 'exit');
    },
  };
}

export interface DrawnChart {
  domain: { xMin: number; xMax: number; yMin: number; yMax: number };
  plot: { left: number; top: number; right: number; bottom: number };
  /** Series name → its polyline's vertices. */
  series: Record<string, [number, number][]>;
}

/** What the page drew in the chart captioned `title`: its domain, plot box and vertices. */
export async function readChart(page: Page, title: string): Promise<DrawnChart> {
  const svg = page.locator(`figure[data-chart="${title}"] svg`);
  const n = async (k: string) => Number(await svg.getAttribute(`data-${k}`));
  const series: Record<string, [number, number][]> = {};
  const lines = svg.locator('polyline');
  for (let i = 0; i < (await lines.count()); i++) {
    const line = lines.nth(i);
    const points = (await line.getAttribute('points')) ?? '';
    series[(await line.getAttribute('data-series')) ?? `#${i}`] = points.trim().split(/\s+/).map((p) => p.split(',').map(Number) as [number, number]);
  }
  return {
    domain: { xMin: await n('x-min'), xMax: await n('x-max'), yMin: await n('y-min'), yMax: await n('y-max') },
    plot: { left: await n('plot-left'), top: await n('plot-top'), right: await n('plot-right'), bottom: await n('plot-bottom') },
    series,
  };
}

/** Where each (step, value) must be drawn in `chart`'s box, by linear scales over its domain. */
export function expectedPixels(chart: DrawnChart, points: readonly (readonly [number, number])[]): [number, number][] {
  const { domain: d, plot: p } = chart;
  return points.map(([x, y]) => [p.left + ((x - d.xMin) / (d.xMax - d.xMin)) * (p.right - p.left), p.bottom - ((y - d.yMin) / (d.yMax - d.yMin)) * (p.bottom - p.top)]);
}

/** Writes a kubeconfig whose API server is down (nothing listens on port 1). */
export function unreachableKubeconfig(): string {
  const kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'lathe-kc-')), 'config');
  writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n');
  return kubeconfig;
}
