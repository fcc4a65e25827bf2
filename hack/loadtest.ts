// `make loadtest SERVICE=<name> [NAMESPACE=<ns>]`: a bounded ramp of real load against a served
// model through its Service, by vegeta (built from Go modules, hack/tools.sh), and a report.
//
// Each stage runs two vegeta attacks at once for LATHE_LOADTEST_STAGE_SECONDS at its rate: plain
// and streamed /v1/completions. vegeta measures each request's whole latency, status codes and
// throughput; time to first token (which no HTTP load generator sees inside a stream) and tokens/s
// come from the server's own /metrics, read before and after the stage (lathe_time_to_first_token_
// seconds, lathe_tokens_generated_total), as the serving dashboard reads them. A 429 is counted as
// shed (the server at capacity), apart from errors. The report is printed and written as JSON;
// with GRAFANA_URL (and GRAFANA_TOKEN) set, the run is marked on the dashboards as an annotation.
//
//   LATHE_LOADTEST_RATES          requests/s of each kind per stage   (default 1,2,4)
//   LATHE_LOADTEST_STAGE_SECONDS  length of one stage                 (default 10)
//   LATHE_LOADTEST_MAX_TOKENS     max_tokens of each request          (default 16)
//   LATHE_LOADTEST_TIMEOUT_SECONDS one request's limit                (default 60)
//   LATHE_LOADTEST_REPORT         where the JSON report goes (default .cluster/loadtest/<service>-<time>.json)
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { kubectl, repoRoot } from '../test/support/cluster.js';
import { metricSum } from '../test/support/operator-process.js';
import { withPortForward } from '../test/support/real-node.js';

interface VegetaReport {
  requests: number;
  rate: number;
  throughput: number;
  success: number;
  latencies: { mean: number; '50th': number; '95th': number; '99th': number; max: number };
  status_codes: Record<string, number>;
  errors: string[] | null;
}

export interface KindResult {
  requests: number;
  /** Requests completed per second (vegeta's throughput: successes over the attack's time). */
  throughput: number;
  latencySeconds: { p50: number; p95: number; p99: number; max: number };
  /** Share of requests answered with an error (anything but 2xx and 429). */
  errorRate: number;
  /** Share of requests shed with 429. */
  shedRate: number;
  statusCodes: Record<string, number>;
}

export interface StageResult {
  rate: number;
  seconds: number;
  plain: KindResult;
  stream: KindResult;
  /** From the server's metrics over the stage. */
  tokensPerSecond: number;
  timeToFirstTokenSeconds: { p50: number; p95: number; p99: number } | null;
}

export interface LoadTestReport {
  service: string;
  namespace: string;
  startedAt: string;
  endedAt: string;
  maxTokens: number;
  stages: StageResult[];
  annotation?: { url: string; ok: boolean; status?: number };
}

const env = (name: string, fallback: string) => process.env[name] || fallback;

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${value}"`);
  return n;
}

/** A histogram's cumulative bucket counts by upper bound, summed over its other labels (Prometheus text). */
export function histogramBuckets(text: string, family: string): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)_bucket\{[^}]*le="([^"]+)"[^}]*\}\s+(\S+)/.exec(line);
    if (!m || m[1] !== family) continue;
    const bound = m[2] === '+Inf' ? Infinity : Number(m[2]);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(m[3]));
  }
  return buckets;
}

/** histogram_quantile over the difference of two cumulative bucket sets (linear within a bucket). */
export function quantileOfDelta(before: Map<number, number>, after: Map<number, number>, q: number): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! >= rank) {
      const upper = bounds[i]!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      if (!Number.isFinite(upper)) return lower; // above the highest bound: its lower edge, as Prometheus does
      const below = i === 0 ? 0 : counts[i - 1]!;
      const inBucket = counts[i]! - below;
      return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
    }
  }
  return null;
}

function kindResult(r: VegetaReport): KindResult {
  const codes = r.status_codes ?? {};
  const total = r.requests || 1;
  const shed = codes['429'] ?? 0;
  const ok = Object.entries(codes).filter(([c]) => c.startsWith('2')).reduce((n, [, v]) => n + v, 0);
  const s = (ns: number) => ns / 1e9;
  return {
    requests: r.requests,
    throughput: r.throughput,
    latencySeconds: { p50: s(r.latencies['50th']), p95: s(r.latencies['95th']), p99: s(r.latencies['99th']), max: s(r.latencies.max) },
    errorRate: (r.requests - ok - shed) / total,
    shedRate: shed / total,
    statusCodes: codes,
  };
}

function attack(vegeta: string, dir: string, kind: 'plain' | 'stream', port: number, rate: number, seconds: number, maxTokens: number, timeout: number): Promise<VegetaReport> {
  const body = path.join(dir, `${kind}.json`);
  writeFileSync(body, JSON.stringify({ prompt: 'Once upon a time', max_tokens: maxTokens, stream: kind === 'stream' }));
  const targets = path.join(dir, `${kind}.targets`);
  writeFileSync(targets, `POST http://127.0.0.1:${port}/v1/completions\nContent-Type: application/json\n@${body}\n`);
  const results = path.join(dir, `${kind}.bin`);
  return new Promise((resolve, reject) => {
    const p = spawn(vegeta, ['attack', `-targets=${targets}`, `-rate=${rate}/s`, `-duration=${seconds}s`, `-timeout=${timeout}s`, '-max-workers=256', `-output=${results}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`vegeta attack (${kind}) exited ${code}: ${err}`));
      resolve(JSON.parse(execFileSync(vegeta, ['report', '-type=json', results], { encoding: 'utf8' })) as VegetaReport);
    });
  });
}

async function annotate(report: LoadTestReport): Promise<LoadTestReport['annotation']> {
  const base = process.env.GRAFANA_URL;
  if (!base) return undefined;
  const url = `${base.replace(/\/$/, '')}/api/annotations`;
  const last = report.stages.at(-1);
  const text = `Lathe load test of ${report.namespace}/${report.service}: ${report.stages.length} stages up to ${last?.rate ?? 0} req/s of each kind`;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(process.env.GRAFANA_TOKEN ? { authorization: `Bearer ${process.env.GRAFANA_TOKEN}` } : {}) },
      body: JSON.stringify({ time: Date.parse(report.startedAt), timeEnd: Date.parse(report.endedAt), tags: ['lathe', 'loadtest', `service:${report.service}`], text }),
    });
    if (!res.ok) process.stderr.write(`[loadtest] Grafana refused the annotation: HTTP ${res.status} ${await res.text()}\n`);
    return { url, ok: res.ok, status: res.status };
  } catch (err) {
    process.stderr.write(`[loadtest] Grafana at ${base} could not be reached: ${(err as Error).message}\n`);
    return { url, ok: false };
  }
}

function table(report: LoadTestReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const sec = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(3)}s`);
  const rows = [['rate/s', 'kind', 'requests', 'done/s', 'p50', 'p95', 'p99', 'errors', 'shed', 'tokens/s', 'TTFT p50', 'TTFT p95']];
  for (const s of report.stages) {
    for (const kind of ['plain', 'stream'] as const) {
      const k = s[kind];
      const ttft = kind === 'stream' ? s.timeToFirstTokenSeconds : null;
      rows.push([String(s.rate), kind, String(k.requests), k.throughput.toFixed(2), sec(k.latencySeconds.p50), sec(k.latencySeconds.p95), sec(k.latencySeconds.p99), pct(k.errorRate), pct(k.shedRate), kind === 'plain' ? s.tokensPerSecond.toFixed(1) : '', sec(ttft?.p50), sec(ttft?.p95)]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const service = args.find((a) => !a.startsWith('-'));
  const nsFlag = args.indexOf('-n');
  const namespace = nsFlag >= 0 ? args[nsFlag + 1]! : env('NAMESPACE', 'default');
  if (!service) throw new Error('usage: make loadtest SERVICE=<InferenceService> [NAMESPACE=<namespace>]');
  const rates = env('LATHE_LOADTEST_RATES', '1,2,4').split(',').map((r) => positive('LATHE_LOADTEST_RATES', r.trim()));
  const seconds = positive('LATHE_LOADTEST_STAGE_SECONDS', env('LATHE_LOADTEST_STAGE_SECONDS', '10'));
  const maxTokens = positive('LATHE_LOADTEST_MAX_TOKENS', env('LATHE_LOADTEST_MAX_TOKENS', '16'));
  const timeout = positive('LATHE_LOADTEST_TIMEOUT_SECONDS', env('LATHE_LOADTEST_TIMEOUT_SECONDS', '60'));

  // Not Ready means no pod answers: say why instead of measuring connection errors.
  let isvc: { status?: { conditions?: { type: string; status: string; message?: string }[] } };
  try {
    isvc = JSON.parse(kubectl(['get', 'inferenceservice', service, '-n', namespace, '-o', 'json'])) as typeof isvc;
  } catch (err) {
    throw new Error(`InferenceService ${namespace}/${service} not found (${(err as Error).message.split('\n')[0]})`);
  }
  const ready = isvc.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') throw new Error(`InferenceService ${namespace}/${service} is not Ready: ${ready?.message ?? 'no status yet'}; wait for it (kubectl wait --for=condition=Ready inferenceservice/${service} -n ${namespace})`);

  const vegeta = execFileSync(path.join(repoRoot, 'hack/tools.sh'), ['path', 'vegeta'], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(path.join(tmpdir(), 'lathe-loadtest-'));
  const report: LoadTestReport = { service, namespace, startedAt: new Date().toISOString(), endedAt: '', maxTokens, stages: [] };
  await withPortForward(namespace, `service/${service}`, 80, async (port) => {
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const rate of rates) {
      process.stderr.write(`[loadtest] stage: ${rate} req/s plain + ${rate} req/s streamed for ${seconds} s\n`);
      const before = await scrape();
      const t0 = Date.now();
      const [plain, stream] = await Promise.all([
        attack(vegeta, dir, 'plain', port, rate, seconds, maxTokens, timeout),
        attack(vegeta, dir, 'stream', port, rate, seconds, maxTokens, timeout),
      ]);
      const elapsed = (Date.now() - t0) / 1000;
      const after = await scrape();
      const tokens = metricSum(after, 'lathe_tokens_generated_total') - metricSum(before, 'lathe_tokens_generated_total');
      const [ttftBefore, ttftAfter] = [before, after].map((t) => histogramBuckets(t, 'lathe_time_to_first_token_seconds')) as [Map<number, number>, Map<number, number>];
      const ttft = (q: number) => quantileOfDelta(ttftBefore, ttftAfter, q);
      const p50 = ttft(0.5);
      report.stages.push({
        rate,
        seconds,
        plain: kindResult(plain),
        stream: kindResult(stream),
        tokensPerSecond: tokens / elapsed,
        timeToFirstTokenSeconds: p50 === null ? null : { p50, p95: ttft(0.95)!, p99: ttft(0.99)! },
      });
    }
  });
  report.endedAt = new Date().toISOString();
  const annotation = await annotate(report);
  if (annotation) report.annotation = annotation;

  const file = process.env.LATHE_LOADTEST_REPORT || path.join(repoRoot, '.cluster/loadtest', `${service}-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${table(report)}\nreport: ${file}\n`);
  const served = report.stages.reduce((n, s) => n + (s.plain.statusCodes['200'] ?? 0) + (s.stream.statusCodes['200'] ?? 0), 0);
  if (served === 0) throw new Error('no request was answered with 200: see the status codes in the report');
}

main().catch((err: unknown) => {
  process.stderr.write(`loadtest: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
