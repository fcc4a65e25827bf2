// `make bench`: the operator's speed and cost figures against the local control plane, printed,
// never asserted (timings on a shared 2-core machine are information, not a test).
//
//   1. create → Job latency of single runs (p50, p99)
//   2. 1,000 TrainingRuns created at once until all have Jobs, against a plain client creating the
//      same 1,000 Jobs directly in the same run (target: within 1.2x), in three rounds (the ratio
//      swings by a third from one round to the next here); then the operator started with 1,000 new
//      runs waiting, which leaves out the API server's cost of storing the runs
//   3. API writes per run lifecycle, Events counted separately (target: 6 or fewer)
//   4. writes per minute at rest with 1,000 finished runs, across several resyncs (target: zero)
//   5. operator RSS with 5,000 runs cached (target: under 120 MB)
//
// Every request goes through one keep-alive connection pool, as client-go's and kubectl's do. (The
// client-node 1.x API classes open a TLS connection per request: 1,000 Jobs cost the API server
// 5.5 CPU-seconds that way instead of 2.2, which would make any plain client look slow.)
import { CoreV1Api, KubeConfig, type V1Job } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadClusterAccess } from '../operator/src/client/cluster-access.js';
import { statusCode } from '../operator/src/client/errors.js';
import { CONTENT_TYPES, KubeClient, resourcePath } from '../operator/src/client/kube-client.js';
import { loadConfig } from '../operator/src/config/operator-config.js';
import { RESOURCES } from '../operator/src/k8s/resources.js';
import type { TrainingRun } from '../operator/src/api/schema/trainingrun.js';
import { render } from '../operator/src/trainingrun/render.js';
import { planRun } from '../operator/src/trainingrun/plan.js';
import { isGone } from '../operator/src/runtime/list-watch.js';
import { startOperator, metricSum, type OperatorProcess, type StartOptions } from '../test/support/operator-process.js';
import { createNamespace, deleteNamespace, ensureCrds, waitFor } from '../test/support/cluster.js';
import { s3, writeArtifact } from '../test/support/sim-trainer.js';
import { makeTrainingRun } from '../test/support/builders.js';

const N_BURST = Number(process.env.LATHE_BENCH_BURST ?? 1000);
const BURST_ROUNDS = Number(process.env.LATHE_BENCH_BURST_ROUNDS ?? 3);
const N_CACHED = Number(process.env.LATHE_BENCH_CACHED ?? 5000);
const N_SINGLE = Number(process.env.LATHE_BENCH_SINGLE ?? 60);
const N_LIFECYCLE = Number(process.env.LATHE_BENCH_LIFECYCLE ?? 20);
const REST_MS = Number(process.env.LATHE_BENCH_REST_MS ?? 60_000);
const RESYNC_MS = 20_000;
const CONCURRENCY = 32;

const kc = new KubeConfig();
kc.loadFromDefault();
const core = kc.makeApiClient(CoreV1Api);
let api: KubeClient;
const out = (s: string) => process.stdout.write(`${s}\n`);

const runsPath = (namespace: string, name?: string) => resourcePath({ ...RESOURCES.trainingRuns, namespace, ...(name ? { name } : {}) });
const jobsPath = (namespace: string) => resourcePath({ ...RESOURCES.jobs, namespace });

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

function run(name: string, extra: Record<string, unknown> = {}): TrainingRun {
  return makeTrainingRun(name).resources({ cpu: '10m', memory: '16Mi' }).spec(extra).manifest();
}

async function createRun(ns: string, name: string, extra: Record<string, unknown> = {}): Promise<void> {
  await api.create(runsPath(ns), run(name, extra));
}

async function runPhases(ns: string): Promise<string[]> {
  const list = await api.get<{ items: TrainingRun[] }>(runsPath(ns));
  return list.items.map((r) => r.status?.phase ?? '');
}

/**
 * The Job the operator makes for `run(name, { suspend: true })`, as a plain client would create it
 * itself: the same spec, without the owner reference and the labels that tie it to a run.
 */
function plainJob(ns: string, name: string): V1Job {
  const tr = run(name, { suspend: true });
  tr.metadata = { ...tr.metadata, namespace: ns, uid: randomUUID(), creationTimestamp: new Date().toISOString() as unknown as Date };
  const config = loadConfig();
  const { job } = render({ plan: planRun(tr, config.s3Bucket, 1), config, modelUri: tr.spec.model! });
  job.metadata = { name, namespace: ns, labels: { 'lathe.dev/bench': 'plain' } };
  return job;
}

/**
 * Watches Jobs in `ns` whose names start with `prefix`, calling `onJob` with the arrival time of
 * each new one. (A watch without a resourceVersion first replays every existing object as ADDED,
 * hence the prefix: only the Jobs of the step being measured count.) The API server ends a watch
 * that falls behind a burst of events (its watch cache drops slow watchers with a normal end of
 * the stream), so an ended watch resumes from the last resourceVersion it saw.
 */
async function watchJobs(ns: string, onJob: (job: V1Job, at: number) => void, prefix = ''): Promise<{ abort(): void }> {
  const seen = new Set<string>();
  let resourceVersion: string | undefined;
  let handle: { abort(): void } | undefined;
  let aborted = false;
  let restarts = 0;
  const start = async (): Promise<void> => {
    const h = await api.watch(jobsPath(ns), resourceVersion ? { resourceVersion } : {}, (type, obj) => {
      const at = performance.now();
      const job = obj as V1Job;
      if (type === 'ERROR') {
        resourceVersion = undefined; // 410 Gone: start over with a replay (the seen set dedupes it)
        return;
      }
      restarts = 0;
      resourceVersion = job.metadata?.resourceVersion ?? resourceVersion;
      if (type === 'ADDED' && job.metadata!.name!.startsWith(prefix) && !seen.has(job.metadata!.name!)) {
        seen.add(job.metadata!.name!);
        onJob(job, at);
      }
    }, (err) => {
      if (aborted) return;
      if (isGone(err)) resourceVersion = undefined;
      if (++restarts > 20) {
        out(`[bench] the Job watch keeps ending: ${err instanceof Error ? err.message : JSON.stringify(err)}`);
        return;
      }
      setTimeout(() => {
        start().catch((e: unknown) => out(`[bench] could not restart the Job watch: ${String(e)}`));
      }, 200);
    });
    if (aborted) h.abort();
    handle = h;
  };
  await start();
  return {
    abort: () => {
      aborted = true;
      handle?.abort();
    },
  };
}

async function writes(op: OperatorProcess): Promise<{ all: number; events: number }> {
  const text = await op.metrics();
  const all = metricSum(text, 'lathe_api_writes_total');
  const events = metricSum(text, 'lathe_api_writes_total', { resource: 'events' });
  return { all, events };
}

async function latency(ns: string, op: OperatorProcess): Promise<void> {
  const m0 = await op.metrics();
  const created = new Map<string, number>();
  const lat: number[] = [];
  let watchSawWarmup = false;
  const watch = await watchJobs(ns, (job, at) => {
    const run = job.metadata!.labels!['lathe.dev/training-run'] ?? '';
    if (run === 'lat-warmup') watchSawWarmup = true;
    const t0 = created.get(run);
    if (t0 !== undefined) lat.push(at - t0);
  });
  // One run first, not counted: the watch above is in place and the operator's connections are warm.
  await createRun(ns, 'lat-warmup', { suspend: true });
  await waitFor('the warm-up Job', () => Promise.resolve(watchSawWarmup || undefined), 30_000, 2);
  for (let i = 0; i < N_SINGLE; i++) {
    const name = `lat-${i}`;
    created.set(name, performance.now());
    await createRun(ns, name, { suspend: true });
    await waitFor(`job of ${name}`, () => Promise.resolve(lat.length > i || undefined), 30_000, 2);
  }
  watch.abort();
  out(`create→Job latency, ${N_SINGLE} single runs one after another: p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms (targets: 50 ms, 250 ms)`);
  // Where the time goes, from the operator's own histograms (means over the same runs).
  const m1 = await op.metrics();
  const mean = (name: string, labels: Record<string, string>) => {
    const sum = metricSum(m1, `${name}_sum`, labels) - metricSum(m0, `${name}_sum`, labels);
    const count = metricSum(m1, `${name}_count`, labels) - metricSum(m0, `${name}_count`, labels);
    return count ? ((sum / count) * 1000).toFixed(1) : 'n/a';
  };
  out(`  of which, per reconcile: queue wait ${mean('workqueue_queue_duration_seconds', { name: 'trainingrun' })} ms, reconcile ${mean('controller_runtime_reconcile_time_seconds', { controller: 'trainingrun' })} ms (means)`);
}

const PROCESSES = ['kube-apiserver', 'etcd', 'kube-controller-manager', 'operator/src/main.js', 'minio'];

/**
 * CPU seconds used so far by the local control plane's processes and the operator (Linux /proc;
 * empty against a remote cluster). On a 2-core machine the burst is CPU-bound, and this shows where
 * the CPU went.
 */
function cpuSeconds(): Map<string, number> {
  const out = new Map<string, number>();
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  const hz = 100; // USER_HZ on Linux
  for (const pid of pids) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const name = PROCESSES.find((n) => (n.endsWith('.js') ? cmd.some((a) => a.endsWith(n)) : cmd[0]!.endsWith(`/${n}`)));
      if (!name) continue;
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / hz);
    } catch {
      // the process ended
    }
  }
  const self = process.cpuUsage();
  out.set('bench client', (self.user + self.system) / 1e6);
  return out;
}

/** CPU seconds per process since `before`, and in all: on a saturated machine, time follows the total. */
function cpuSince(before: Map<string, number>): string {
  const spent = [...cpuSeconds()].map(([name, s]) => [name.replace('operator/src/main.js', 'operator'), s - (before.get(name) ?? 0)] as const);
  const total = spent.reduce((sum, [, s]) => sum + s, 0);
  return `${spent.map(([name, s]) => `${name} ${s.toFixed(1)}`).join(', ')}; in all ${total.toFixed(1)}`;
}

/** Counts the Jobs in `ns` named `prefix...` as they appear; `last` is when the newest did. */
async function countJobs(ns: string, prefix: string): Promise<{ seen(): number; last(): number; abort(): void }> {
  let seen = 0;
  let last = 0;
  const w = await watchJobs(ns, (_j, at) => {
    seen++;
    last = at;
  }, prefix);
  return { seen: () => seen, last: () => last, abort: () => w.abort() };
}

/** One round: returns the plain client's time and the ratio. */
async function burst(nsRuns: string, nsJobs: string): Promise<{ plainMs: number; ratio: number }> {
  // Plain client: the same 1,000 suspended Jobs the operator makes below, with the same concurrency.
  const plain = await countJobs(nsJobs, 'plain-');
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  await pool([...Array(N_BURST).keys()], CONCURRENCY, async (i) => {
    await api.create(jobsPath(nsJobs), plainJob(nsJobs, `plain-${i}`));
  });
  await waitFor('all plain Jobs observed', () => Promise.resolve(plain.seen() >= N_BURST || undefined), 300_000, 20);
  const plainMs = plain.last() - t0;
  const plainCpu = cpuSince(cpu0);
  plain.abort();
  await new Promise((r) => setTimeout(r, 5000)); // the Job controller's own writes for them finish

  const runs = await countJobs(nsRuns, 'burst-');
  const cpu1 = cpuSeconds();
  const t1 = performance.now();
  await pool([...Array(N_BURST).keys()], CONCURRENCY, (i) => createRun(nsRuns, `burst-${i}`, { suspend: true }));
  const createdMs = performance.now() - t1;
  await waitFor('all runs to have Jobs', () => Promise.resolve(runs.seen() >= N_BURST || undefined), 600_000, 20);
  const runMs = runs.last() - t1;
  const runCpu = cpuSince(cpu1);
  runs.abort();
  out(`${N_BURST} at once: plain client ${(plainMs / 1000).toFixed(2)} s for the same Jobs; ${N_BURST} TrainingRuns ${(runMs / 1000).toFixed(2)} s until all had Jobs (the creates themselves took ${(createdMs / 1000).toFixed(2)} s); ratio ${(runMs / plainMs).toFixed(2)}x (target: 1.2x)`);
  out(`  CPU seconds, plain Jobs: ${plainCpu}`);
  out(`  CPU seconds, TrainingRuns: ${runCpu}`);
  return { plainMs, ratio: runMs / plainMs };
}

/**
 * BURST_ROUNDS rounds of `burst`, each in fresh namespaces; the earlier rounds' namespaces are
 * deleted and waited for, so that deleting 2,000 objects does not overlap the next round. The last
 * round's runs stay in `nsRuns` for the steps after it. Returns the median round's plain time.
 */
async function bursts(nsRuns: string, ns: (prefix: string) => Promise<string>): Promise<number> {
  const rounds: { plainMs: number; ratio: number }[] = [];
  for (let round = 1; round <= BURST_ROUNDS; round++) {
    const last = round === BURST_ROUNDS;
    const runs = last ? nsRuns : await ns('bench-burst');
    const jobs = await ns('bench-jobs');
    out(`[bench] burst round ${round} of ${BURST_ROUNDS}`);
    rounds.push(await burst(runs, jobs));
    await dropNamespace(jobs);
    if (!last) await dropNamespace(runs);
  }
  const sorted = [...rounds].sort((a, b) => a.ratio - b.ratio);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  out(`burst over ${rounds.length} rounds: ratio median ${median.ratio.toFixed(2)}x (rounds: ${rounds.map((r) => `${r.ratio.toFixed(2)}x`).join(', ')}; target: 1.2x)`);
  return median.plainMs;
}

/** Deletes a namespace and waits until it is gone. */
async function dropNamespace(name: string): Promise<void> {
  await deleteNamespace(core, name);
  await waitFor(`namespace ${name} to be deleted`, async () => {
    try {
      await core.readNamespace({ name });
      return undefined;
    } catch (err) {
      if (statusCode(err) === 404) return true;
      throw err;
    }
  }, 600_000, 500);
}

/**
 * The operator started with N_BURST new runs already stored: its own Job throughput, without the
 * API server's work of storing the runs in the same seconds (on a 2-core machine that work takes
 * CPU from the Job creates; on EKS the control plane has its own).
 */
async function backlog(ns: string, op: OperatorProcess, options: StartOptions, plainMs: number): Promise<OperatorProcess> {
  await op.stop();
  await pool([...Array(N_BURST).keys()], CONCURRENCY, (i) => createRun(ns, `backlog-${i}`, { suspend: true }));
  await new Promise((r) => setTimeout(r, 3000)); // the API server's watchers catch up
  const jobs = await countJobs(ns, 'backlog-');
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  const started = await startOperator(options);
  const readyMs = performance.now() - t0;
  try {
    await waitFor('all backlog runs to have Jobs', () => Promise.resolve(jobs.seen() >= N_BURST || undefined), 600_000, 20);
  } catch (err) {
    await started.stop();
    throw err;
  }
  const ms = jobs.last() - t0;
  const cpu = cpuSince(cpu0);
  jobs.abort();
  out(`${N_BURST} new runs waiting when the operator started: ${(ms / 1000).toFixed(2)} s from its start until all had Jobs (ready after ${(readyMs / 1000).toFixed(2)} s); ${(ms / plainMs).toFixed(2)}x the plain client`);
  out(`  CPU seconds: ${cpu}`);
  return started;
}

/** Waits until the operator has made no write for 3 s (Events drain at the recorder's 5 qps). */
async function settle(op: OperatorProcess): Promise<void> {
  let last = -1;
  for (;;) {
    const now = (await writes(op)).all;
    if (now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, 3000));
  }
}

async function lifecycle(ns: string, op: OperatorProcess): Promise<void> {
  const storage = s3();
  await settle(op);
  const before = await writes(op);
  // The simulated trainer writes the artifact as soon as the Job exists; kwok's pods then finish.
  const watch = await watchJobs(ns, (job) => void writeArtifact(storage, job), 'life-');
  await pool([...Array(N_LIFECYCLE).keys()], 8, (i) => createRun(ns, `life-${i}`));
  await waitFor('all lifecycle runs Succeeded', async () => (await runPhases(ns)).filter((p) => p === 'Succeeded').length >= N_LIFECYCLE || undefined, 300_000, 500);
  watch.abort();
  await settle(op); // trailing Events land
  const after = await writes(op);
  const per = (after.all - before.all) / N_LIFECYCLE;
  const ev = (after.events - before.events) / N_LIFECYCLE;
  out(`API writes per run lifecycle (create → Succeeded, ${N_LIFECYCLE} runs): ${per.toFixed(2)} in all, ${(per - ev).toFixed(2)} without Events, ${ev.toFixed(2)} Events (target: 6 or fewer)`);
}

async function finishBurst(ns: string): Promise<void> {
  // Turn the 1,000 suspended runs into finished ones: artifacts first, then resume them.
  const storage = s3();
  const jobs = (await api.get<{ items: V1Job[] }>(jobsPath(ns))).items.filter((j) => j.metadata!.name!.startsWith('burst-'));
  await pool(jobs, 16, async (job) => {
    await writeArtifact(storage, job);
  });
  await pool([...Array(N_BURST).keys()], CONCURRENCY, async (i) => {
    await api.patch(runsPath(ns, `burst-${i}`), [{ op: 'replace', path: '/spec/suspend', value: false }], CONTENT_TYPES.jsonPatch);
  });
  await waitFor(`${N_BURST} finished runs`, async () => (await runPhases(ns)).filter((p) => p === 'Succeeded').length >= N_BURST || undefined, 900_000, 2000);
}

async function atRest(op: OperatorProcess): Promise<void> {
  await settle(op);
  const before = await writes(op);
  await new Promise((r) => setTimeout(r, REST_MS));
  const after = await writes(op);
  const perMin = ((after.all - before.all) * 60_000) / REST_MS;
  const eventsPerMin = ((after.events - before.events) * 60_000) / REST_MS;
  out(`writes per minute at rest with ${N_BURST} finished and ${N_BURST + N_SINGLE + 1} suspended runs, over ${REST_MS / 1000} s and ${Math.floor(REST_MS / RESYNC_MS)} resyncs: ${perMin.toFixed(1)}, of which Events ${eventsPerMin.toFixed(1)} (target: zero)`);
}

async function rss(ns: string, op: OperatorProcess): Promise<void> {
  const existing = 2 * N_BURST + N_SINGLE + 1 + N_LIFECYCLE; // + the latency step's warm-up run
  const more = Math.max(0, N_CACHED - existing);
  // Counted from the operator's own write counter: a client watch over thousands of creates on a
  // saturated 2-core machine can drop and miss some.
  const jobsCreated = async () => metricSum(await op.metrics(), 'lathe_api_writes_total', { resource: 'jobs', verb: 'create', code: '2xx' });
  const target = (await jobsCreated()) + more;
  await pool([...Array(more).keys()], CONCURRENCY, (i) => createRun(ns, `cached-${i}`, { suspend: true }));
  await waitFor('the extra runs to have Jobs', async () => (await jobsCreated()) >= target || undefined, 900_000, 500);
  const memory = async () => {
    const text = await op.metrics();
    return { rss: metricSum(text, 'process_resident_memory_bytes') / 1e6, heap: metricSum(text, 'nodejs_heap_size_used_bytes') / 1e6 };
  };
  await new Promise((r) => setTimeout(r, 5000));
  const early = await memory();
  // Then at rest: the deferred first statuses written, resyncs running (every RESYNC_MS).
  await settle(op);
  const samples: { rss: number; heap: number }[] = [];
  for (let i = 0; i < 12; i++) {
    await new Promise((r) => setTimeout(r, 5000));
    samples.push(await memory());
  }
  const rssAtRest = samples.map((m) => m.rss);
  out(
    `operator RSS with ${existing + more} runs cached (and their Jobs): ${early.rss.toFixed(1)} MB 5 s after the last Job (JS heap used ${early.heap.toFixed(1)} MB); ` +
      `at rest over 60 s, median ${percentile(rssAtRest, 50).toFixed(1)} MB, max ${Math.max(...rssAtRest).toFixed(1)} MB (target: under 120 MB)`,
  );
}

async function main(): Promise<void> {
  ensureCrds();
  api = new KubeClient(loadClusterAccess());
  const namespaces: string[] = [];
  const ns = async (p: string) => {
    const n = await createNamespace(core, p, {}, ['lathe-trainer']);
    namespaces.push(n);
    return n;
  };
  // One replica, so no leader election: a Lease renewal missed while the API server is saturated
  // by thousands of creates would (rightly) make the operator exit, and end the benchmark.
  const options: StartOptions = { env: { LATHE_RESYNC_MS: String(RESYNC_MS), LATHE_PROGRESS_POLL_MS: '1000', LATHE_LOG_LEVEL: 'warn', LATHE_LEADER_ELECTION: 'false' } };
  let op = await startOperator(options);
  out(`[bench] operator up on :${op.port}; Node ${execFileSync('node', ['--version'], { encoding: 'utf8' }).trim()} (hack/operator-node.sh); figures from one run on this machine`);
  try {
    const runsNs = await ns('bench-runs');
    await latency(runsNs, op);
    await lifecycle(await ns('bench-life'), op);
    const plainMs = await bursts(runsNs, ns);
    op = await backlog(runsNs, op, options, plainMs);
    await finishBurst(runsNs);
    await atRest(op);
    await rss(runsNs, op);
  } finally {
    await op.stop();
    for (const n of namespaces) await deleteNamespace(core, n);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
