// `make bench`: the operator's speed and cost figures against the local control plane, beside the
// same figures for its peer, Kubeflow Trainer v2 (TrainJob → JobSet → Job → pod, run by
// test/support/peer.ts; its steps in hack/bench/peer.ts), in one run on the same cluster; printed,
// never asserted (timings on a shared 2-core machine are information, not a test). Each figure is
// printed for both and as the ratio Lathe / peer (goal: 1.0 or less).
//
//   1. single create → first pod exists, p50 and p99 over 60 runs
//   2. 1,000 created at once until all have pods, in three rounds, each in fresh namespaces:
//      a plain client creating the same 1,000 Jobs directly (the limit line: no controller is
//      faster than the API server storing its Jobs), Lathe, the peer (alternating which goes
//      first); each controller's CPU seconds for it, and Lathe's own lag (last create → all Jobs).
//      Then Lathe started with 1,000 new runs waiting, which leaves out the API server's cost of
//      storing the runs
//   3. API writes per lifecycle (create → Succeeded), Lathe's Events counted separately
//   4. writes per minute at rest with 1,000 finished, across several resyncs
//   5. controller RSS with 5,000 cached, at rest
//
// Env knobs for a quick run: LATHE_BENCH_BURST (1000), LATHE_BENCH_BURST_ROUNDS (3),
// LATHE_BENCH_CACHED (5000), LATHE_BENCH_SINGLE (60), LATHE_BENCH_LIFECYCLE (20),
// LATHE_BENCH_REST_MS (60000); LATHE_BENCH_PEER=off measures Lathe alone. LATHE_BENCH_SCALE=on (or
// full, or sizes such as 100,200) adds the scaling table and its plot, Lathe beside the peer
// (hack/bench/scaling.ts), written with the summary into LATHE_BENCH_OUT (.cluster/bench).
//
// Every request goes through one keep-alive connection pool, as client-go's and kubectl's do. (The
// client-node 1.x API classes open a TLS connection per request: 1,000 Jobs cost the API server
// 5.5 CPU-seconds that way instead of 2.2, which would make any plain client look slow.)
import { CoreV1Api, KubeConfig, type V1Job } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadClusterAccess } from '../operator/src/client/cluster-access.js';
import { statusCode } from '../operator/src/client/errors.js';
import { CONTENT_TYPES, KubeClient, resourcePath } from '../operator/src/client/kube-client.js';
import { loadConfig } from '../operator/src/config/operator-config.js';
import { RESOURCES } from '../operator/src/k8s/resources.js';
import type { TrainingRun } from '../operator/src/api/schema/trainingrun.js';
import { render } from '../operator/src/trainingrun/render.js';
import { planRun } from '../operator/src/trainingrun/plan.js';
import { startOperator, metricSum, type OperatorProcess, type StartOptions } from '../test/support/operator-process.js';
import { createNamespace, deleteNamespace, ensureCrds, waitFor } from '../test/support/cluster.js';
import { s3, writeArtifact } from '../test/support/sim-trainer.js';
import { makeTrainingRun } from '../test/support/builders.js';
import { startPeer } from '../test/support/peer.js';
import { byLabel, countNew, watchNew } from './bench/watch.js';
import { cpuByName, cpuOf, percentile, pidOfOperator, writesSettled } from './bench/procs.js';
import { linearity, scales, scaling, scalingTable, writePlot, type ScalePoint, type ScaleSubject } from './bench/scaling.js';
import { peerAtRest, peerBurst, peerLatency, peerLifecycle, peerRss, peerScaleSubject, type BurstResult, type PeerBench } from './bench/peer.js';

const N_BURST = Number(process.env.LATHE_BENCH_BURST ?? 1000);
const BURST_ROUNDS = Number(process.env.LATHE_BENCH_BURST_ROUNDS ?? 3);
const N_CACHED = Number(process.env.LATHE_BENCH_CACHED ?? 5000);
const N_SINGLE = Number(process.env.LATHE_BENCH_SINGLE ?? 60);
const N_LIFECYCLE = Number(process.env.LATHE_BENCH_LIFECYCLE ?? 20);
const REST_MS = Number(process.env.LATHE_BENCH_REST_MS ?? 60_000);
const PEER = process.env.LATHE_BENCH_PEER !== 'off';
const OUT_DIR = process.env.LATHE_BENCH_OUT ?? '.cluster/bench';
const RESYNC_MS = 20_000;
const CONCURRENCY = 32;

const kc = new KubeConfig();
kc.loadFromDefault();
const core = kc.makeApiClient(CoreV1Api);
let api: KubeClient;
const out = (s: string) => process.stdout.write(`${s}\n`);

const runsPath = (namespace: string, name?: string) => resourcePath({ ...RESOURCES.trainingRuns, namespace, ...(name ? { name } : {}) });
const jobsPath = (namespace: string) => resourcePath({ ...RESOURCES.jobs, namespace });

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
 * The Job the operator makes for `run(name)`, as a plain client would create it itself: the same
 * spec, without the owner reference and the labels that tie it to a run.
 */
function plainJob(ns: string, name: string): V1Job {
  const tr = run(name);
  tr.metadata = { ...tr.metadata, namespace: ns, uid: randomUUID(), creationTimestamp: new Date().toISOString() as unknown as Date };
  const config = loadConfig();
  const { job } = render({ plan: planRun(tr, config.s3Bucket, 1), config, modelUri: tr.spec.model! });
  job.metadata = { name, namespace: ns, labels: { 'lathe.dev/bench': 'plain' } };
  return job;
}

/** Calls `onJob` with the arrival time of each new Job in `ns` named `prefix...`. */
const watchJobs = (ns: string, onJob: (job: V1Job, at: number) => void, prefix = '') =>
  watchNew(api, jobsPath(ns), (o) => (o.metadata?.name?.startsWith(prefix) ? o.metadata.name : undefined), (_k, o, at) => onJob(o, at), out);

async function writes(op: OperatorProcess): Promise<{ all: number; events: number }> {
  const text = await op.metrics();
  const all = metricSum(text, 'lathe_api_writes_total');
  const events = metricSum(text, 'lathe_api_writes_total', { resource: 'events' });
  return { all, events };
}

const podsPath = (namespace: string) => resourcePath({ ...RESOURCES.pods, namespace });
const RUN_LABEL = 'lathe.dev/training-run';
const ms = (v: number) => `${v.toFixed(1)} ms`;
const sec = (v: number) => `${(v / 1000).toFixed(2)} s`;
const ratio = (lathe: number, peer: number | undefined) => (peer ? `${(lathe / peer).toFixed(2)}` : peer === 0 && lathe === 0 ? 'equal (0)' : 'n/a');

/** What the summary table prints: one row per figure, Lathe's and the peer's. */
const summary: { figure: string; lathe: string; peer: string; ratio: string }[] = [];
function row(figure: string, lathe: number, peer: number | undefined, fmt: (v: number) => string): void {
  summary.push({ figure, lathe: fmt(lathe), peer: peer === undefined ? 'n/a' : fmt(peer), ratio: ratio(lathe, peer) });
}

/** create → Job and create → first pod of N_SINGLE single runs one after another (unsuspended). */
async function latency(ns: string, op: OperatorProcess): Promise<number[]> {
  const m0 = await op.metrics();
  const created = new Map<string, number>();
  const toJob: number[] = [];
  const toPod: number[] = [];
  let warm = false;
  const jobs = await watchNew(api, jobsPath(ns), byLabel(RUN_LABEL, 'lat-'), (run, _o, at) => {
    const t0 = created.get(run);
    if (t0 !== undefined) toJob.push(at - t0);
  }, out);
  const pods = await watchNew(api, podsPath(ns), byLabel(RUN_LABEL, 'lat-'), (run, _o, at) => {
    if (run === 'lat-warmup') warm = true;
    const t0 = created.get(run);
    if (t0 !== undefined) toPod.push(at - t0);
  }, out);
  // One run first, not counted: the watches are in place and the operator's connections are warm.
  await createRun(ns, 'lat-warmup');
  await waitFor('the warm-up pod', () => Promise.resolve(warm || undefined), 60_000, 2);
  for (let i = 0; i < N_SINGLE; i++) {
    const name = `lat-${i}`;
    created.set(name, performance.now());
    await createRun(ns, name);
    await waitFor(`pod of ${name}`, () => Promise.resolve(toPod.length > i || undefined), 60_000, 2);
  }
  jobs.abort();
  pods.abort();
  out(`Lathe, ${N_SINGLE} single runs one after another: create→Job p50 ${ms(percentile(toJob, 50))}, p99 ${ms(percentile(toJob, 99))} (targets: 50 ms, 250 ms); create→first pod p50 ${ms(percentile(toPod, 50))}, p99 ${ms(percentile(toPod, 99))}`);
  // Where the time goes, from the operator's own histograms (means over the same runs).
  const m1 = await op.metrics();
  const mean = (name: string, labels: Record<string, string>) => {
    const sum = metricSum(m1, `${name}_sum`, labels) - metricSum(m0, `${name}_sum`, labels);
    const count = metricSum(m1, `${name}_count`, labels) - metricSum(m0, `${name}_count`, labels);
    return count ? ((sum / count) * 1000).toFixed(1) : 'n/a';
  };
  out(`  of which, per reconcile: queue wait ${mean('workqueue_queue_duration_seconds', { name: 'trainingrun' })} ms, reconcile ${mean('controller_runtime_reconcile_time_seconds', { controller: 'trainingrun' })} ms (means)`);
  return toPod;
}

const PROCESSES = ['kube-apiserver', 'etcd', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'operator/src/main.js', 'trainer-controller-manager', 'jobset', 'minio'] as const;
const OPERATOR = 'operator/src/main.js';

/** CPU seconds used so far by the control plane's processes, the controllers and this client. */
function cpuSeconds(): Map<string, number> {
  const m = cpuByName(PROCESSES);
  const self = process.cpuUsage();
  m.set('bench client', (self.user + self.system) / 1e6);
  return m;
}

/** CPU seconds per process since `before`, and in all: on a saturated machine, time follows the total. */
function cpuSince(before: Map<string, number>): string {
  const spent = [...cpuSeconds()].map(([name, s]) => [name.replace(OPERATOR, 'operator'), s - (before.get(name) ?? 0)] as const).filter(([, s]) => s >= 0.05);
  const total = spent.reduce((sum, [, s]) => sum + s, 0);
  return `${spent.map(([name, s]) => `${name} ${s.toFixed(1)}`).join(', ')}; in all ${total.toFixed(1)}`;
}

/** The bench's operator process (set when it starts): its CPU by pid, the bench's alone. */
let operatorPid: number | undefined;
const operatorCpu = () => (operatorPid ? cpuOf(operatorPid) : 0);
function tracked(op: OperatorProcess): OperatorProcess {
  operatorPid = pidOfOperator(OPERATOR, op.port);
  return op;
}

/** The plain client's N_BURST Jobs (the same the operator renders, unsuspended) until all have pods. */
async function plainBurst(nsJobs: string): Promise<number> {
  const pods = await countNew(api, podsPath(nsJobs), byLabel('batch.kubernetes.io/job-name', 'plain-'), out);
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  await pool([...Array(N_BURST).keys()], CONCURRENCY, async (i) => {
    await api.create(jobsPath(nsJobs), plainJob(nsJobs, `plain-${i}`));
  });
  await waitFor('all plain Jobs to have pods', () => Promise.resolve(pods.seen() >= N_BURST || undefined), 600_000, 20);
  const plainMs = pods.last() - t0;
  pods.abort();
  out(`  plain client: ${sec(plainMs)} until all ${N_BURST} Jobs had pods; CPU seconds: ${cpuSince(cpu0)}`);
  return plainMs;
}

/** N_BURST TrainingRuns created at once until all have pods. */
async function latheBurst(nsRuns: string): Promise<BurstResult> {
  const pods = await countNew(api, podsPath(nsRuns), byLabel(RUN_LABEL, 'burst-'), out);
  const jobs = await countNew(api, jobsPath(nsRuns), byLabel(RUN_LABEL, 'burst-'), out);
  const cpu0 = cpuSeconds();
  const op0 = operatorCpu();
  const t0 = performance.now();
  await pool([...Array(N_BURST).keys()], CONCURRENCY, (i) => createRun(nsRuns, `burst-${i}`));
  const tCreated = performance.now();
  await waitFor('all runs to have pods', () => Promise.resolve((pods.seen() >= N_BURST && jobs.seen() >= N_BURST) || undefined), 900_000, 20);
  const r = { podsMs: pods.last() - t0, lagMs: Math.max(0, jobs.last() - tCreated), createsMs: tCreated - t0, cpuS: operatorCpu() - op0 };
  pods.abort();
  jobs.abort();
  out(`  Lathe: ${sec(r.podsMs)} until all ${N_BURST} runs had pods (creates ${sec(r.createsMs)}, last create → all Jobs ${sec(r.lagMs)}); operator ${r.cpuS.toFixed(1)} CPU s; CPU seconds: ${cpuSince(cpu0)}`);
  return r;
}

async function peerBurstRound(b: PeerBench, ns: string): Promise<BurstResult> {
  const cpu0 = cpuSeconds();
  const r = await peerBurst(b, ns, N_BURST);
  out(`  peer: ${sec(r.podsMs)} until all ${N_BURST} TrainJobs had pods (creates ${sec(r.createsMs)}, last create → all Jobs ${sec(r.lagMs)}); Trainer + JobSet ${r.cpuS.toFixed(1)} CPU s; CPU seconds: ${cpuSince(cpu0)}`);
  return r;
}

interface Round {
  plainMs: number;
  lathe: BurstResult;
  peer?: BurstResult;
}

/**
 * BURST_ROUNDS rounds, each in fresh namespaces, deleted and waited for after each burst so that
 * deleting thousands of objects does not overlap the next; the peer's last round stays (its
 * TrainJobs finish and are its 1,000 at rest). Lathe and the peer take turns going first.
 */
async function bursts(ns: (prefix: string) => Promise<string>, op: OperatorProcess, b: PeerBench | undefined): Promise<{ rounds: Round[]; peerNs?: string }> {
  const rounds: Round[] = [];
  let peerNs: string | undefined;
  for (let round = 1; round <= BURST_ROUNDS; round++) {
    out(`[bench] burst round ${round} of ${BURST_ROUNDS}: ${N_BURST} at once until all have pods`);
    const jobsNs = await ns('bench-jobs');
    const plainMs = await plainBurst(jobsNs);
    await dropNamespace(jobsNs);
    const runsNs = await ns('bench-burst');
    const pNs = b ? await ns('bench-peer-burst') : undefined;
    // Each controller's objects are deleted (and waited for) before the other's burst: a run still
    // Running is polled for progress, and that CPU would be taken from the other's burst. The last
    // round is always Lathe's first, so the peer's TrainJobs of that round can stay for its steps
    // at rest without running beside Lathe's burst.
    const peerFirst = b !== undefined && (BURST_ROUNDS - round) % 2 === 1;
    let peer: BurstResult | undefined;
    if (peerFirst) {
      peer = await peerBurstRound(b, pNs!);
      await dropNamespace(pNs!);
    }
    const lathe = await latheBurst(runsNs);
    await dropNamespace(runsNs);
    if (b && !peerFirst) {
      peer = await peerBurstRound(b, pNs!);
      if (round < BURST_ROUNDS) await dropNamespace(pNs!);
    }
    rounds.push({ plainMs, lathe, ...(peer ? { peer } : {}) });
    peerNs = pNs;
  }
  const med = (xs: number[]) => percentile(xs, 50);
  const lathePods = med(rounds.map((r) => r.lathe.podsMs));
  const peerPods = b ? med(rounds.map((r) => r.peer!.podsMs)) : undefined;
  const plain = med(rounds.map((r) => r.plainMs));
  const lags = rounds.map((r) => r.lathe.lagMs);
  out(`burst over ${rounds.length} rounds (medians): plain client ${sec(plain)}, Lathe ${sec(lathePods)} (${(lathePods / plain).toFixed(2)}x the plain client), peer ${peerPods === undefined ? 'n/a' : sec(peerPods)}; Lathe / peer ${ratio(lathePods, peerPods)} (rounds: ${rounds.map((r) => ratio(r.lathe.podsMs, r.peer?.podsMs)).join(', ')})`);
  out(`  Lathe's lag, last create → all Jobs: p50 ${sec(med(lags))}, max ${sec(Math.max(...lags))}; operator CPU per run ${((med(rounds.map((r) => r.lathe.cpuS)) * 1000) / N_BURST).toFixed(2)} ms`);
  row(`${N_BURST} at once → all pods exist (plain client: ${sec(plain)})`, lathePods, peerPods, sec);
  row(`  controller CPU seconds for them`, med(rounds.map((r) => r.lathe.cpuS)), b ? med(rounds.map((r) => r.peer!.cpuS)) : undefined, (v) => `${v.toFixed(2)} s`);
  row(`  last create → all Jobs (lag)`, med(lags), b ? med(rounds.map((r) => r.peer!.lagMs)) : undefined, sec);
  return { rounds, ...(peerNs ? { peerNs } : {}) };
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
  }, 900_000, 500);
}

/**
 * The operator started with N_BURST new (suspended) runs already stored: its own Job throughput,
 * without the API server's work of storing the runs in the same seconds (on a 2-core machine that
 * work takes CPU from the Job creates; on EKS the control plane has its own). They then become the
 * finished runs at rest.
 */
async function backlog(ns: string, op: OperatorProcess, options: StartOptions, plainMs: number): Promise<OperatorProcess> {
  await op.stop();
  await pool([...Array(N_BURST).keys()], CONCURRENCY, (i) => createRun(ns, `backlog-${i}`, { suspend: true }));
  await new Promise((r) => setTimeout(r, 3000)); // the API server's watchers catch up
  const jobs = await countNew(api, jobsPath(ns), byLabel(RUN_LABEL, 'backlog-'), out);
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  const started = tracked(await startOperator(options));
  const readyMs = performance.now() - t0;
  try {
    await waitFor('all backlog runs to have Jobs', () => Promise.resolve(jobs.seen() >= N_BURST || undefined), 600_000, 20);
  } catch (err) {
    await started.stop();
    throw err;
  }
  const took = jobs.last() - t0;
  const cpu = cpuSince(cpu0);
  jobs.abort();
  out(`${N_BURST} new runs waiting when the operator started: ${sec(took)} from its start until all had Jobs (ready after ${sec(readyMs)}); ${(took / plainMs).toFixed(2)}x the plain client's time to pods`);
  out(`  CPU seconds: ${cpu}`);
  return started;
}

/** Waits until the operator has made no write for 3 s (Events drain at the recorder's 5 qps). */
async function settle(op: OperatorProcess): Promise<void> {
  await writesSettled(async () => (await writes(op)).all);
}

async function lifecycle(ns: string, op: OperatorProcess): Promise<number> {
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
  out(`Lathe, API writes per run lifecycle (create → Succeeded, ${N_LIFECYCLE} runs): ${per.toFixed(2)} in all, ${(per - ev).toFixed(2)} without Events, ${ev.toFixed(2)} Events (target: 6 or fewer)`);
  return per;
}

/** Turns the N_BURST suspended runs `prefix-i` into finished ones: artifacts first, then resume them. */
async function finishRuns(ns: string, prefix: string): Promise<void> {
  const storage = s3();
  const jobs = (await api.get<{ items: V1Job[] }>(jobsPath(ns))).items.filter((j) => j.metadata!.name!.startsWith(prefix));
  await pool(jobs, 16, async (job) => {
    await writeArtifact(storage, job);
  });
  await pool([...Array(N_BURST).keys()], CONCURRENCY, async (i) => {
    await api.patch(runsPath(ns, `${prefix}${i}`), [{ op: 'replace', path: '/spec/suspend', value: false }], CONTENT_TYPES.jsonPatch);
  });
  await waitFor(`${N_BURST} finished runs`, async () => (await runPhases(ns)).filter((p) => p === 'Succeeded').length >= N_BURST || undefined, 900_000, 2000);
}

async function atRest(op: OperatorProcess): Promise<number> {
  await settle(op);
  const before = await writes(op);
  await new Promise((r) => setTimeout(r, REST_MS));
  const after = await writes(op);
  const perMin = ((after.all - before.all) * 60_000) / REST_MS;
  const eventsPerMin = ((after.events - before.events) * 60_000) / REST_MS;
  out(`Lathe, writes per minute at rest with ${N_BURST + N_LIFECYCLE} finished runs, over ${REST_MS / 1000} s and ${Math.floor(REST_MS / RESYNC_MS)} resyncs: ${perMin.toFixed(1)}, of which Events ${eventsPerMin.toFixed(1)} (target: zero)`);
  return perMin;
}

/** Objects in a list, from one item and the list's remainingItemCount. */
async function countOf(path: string): Promise<number> {
  const l = await api.get<{ items: unknown[]; metadata?: { remainingItemCount?: number } }>(path, { limit: 1 });
  return l.items.length + (l.metadata?.remainingItemCount ?? 0);
}

async function rss(namespaces: string[], runsNs: string, op: OperatorProcess): Promise<number> {
  let existing = 0;
  for (const n of namespaces) existing += await countOf(runsPath(n));
  const more = Math.max(0, N_CACHED - existing);
  // Counted from the operator's own write counter: a client watch over thousands of creates on a
  // saturated 2-core machine can drop and miss some.
  const jobsCreated = async () => metricSum(await op.metrics(), 'lathe_api_writes_total', { resource: 'jobs', verb: 'create', code: '2xx' });
  const target = (await jobsCreated()) + more;
  await pool([...Array(more).keys()], CONCURRENCY, (i) => createRun(runsNs, `cached-${i}`, { suspend: true }));
  await waitFor('the extra runs to have Jobs', async () => (await jobsCreated()) >= target || undefined, 1_800_000, 500);
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
  const median = percentile(rssAtRest, 50);
  out(
    `Lathe, operator RSS with ${existing + more} runs cached (and their Jobs): ${early.rss.toFixed(1)} MB 5 s after the last Job (JS heap used ${early.heap.toFixed(1)} MB); ` +
      `at rest over 60 s, median ${median.toFixed(1)} MB, max ${Math.max(...rssAtRest).toFixed(1)} MB (target: under 120 MB)`,
  );
  return median;
}

/** The peer's steps after the bursts: at rest with its last round's TrainJobs finished, then RSS. */
async function peerAfterBursts(b: PeerBench, peerNs: string): Promise<{ perMin: number; rssMb: number }> {
  const rest = await peerAtRest(b, peerNs, N_BURST, REST_MS);
  out(`peer, writes per minute at rest with ${N_BURST + N_LIFECYCLE} finished TrainJobs, over ${REST_MS / 1000} s: ${rest.perMin.toFixed(1)} (Trainer ${rest.trainer.toFixed(1)}, JobSet ${rest.jobset.toFixed(1)})`);
  const r = await peerRss(b, peerNs, N_CACHED);
  out(`peer, Trainer + JobSet RSS with ${r.cached} TrainJobs cached (and their JobSets and Jobs), at rest over 60 s: median ${r.medianMb.toFixed(1)} MB (Trainer ${r.trainerMb.toFixed(1)}, JobSet ${r.jobsetMb.toFixed(1)}), max ${r.maxMb.toFixed(1)} MB`);
  return { perMin: rest.perMin, rssMb: r.medianMb };
}

/**
 * Lathe as the scaling steps drive it (hack/bench/scaling.ts): suspended runs in `ns`; a restart
 * replaces the operator process, hence the getter and setter of the bench's current one.
 */
function latheScaleSubject(ns: string, current: () => OperatorProcess, replace: (op: OperatorProcess) => void, options: StartOptions): ScaleSubject {
  const metric = async (name: string, labels: Record<string, string>) => metricSum(await current().metrics(), name, labels);
  return {
    name: 'Lathe',
    create: (prefix, n) => pool([...Array(n).keys()], CONCURRENCY, (i) => createRun(ns, `${prefix}${i}`, { suspend: true })),
    // From the operator's own counter: a client watch over thousands of creates can drop events.
    jobs: () => metric('lathe_api_writes_total', { resource: 'jobs', verb: 'create', code: '2xx' }),
    cpuS: operatorCpu,
    rssMb: async () => (await metric('process_resident_memory_bytes', {})) / 1e6,
    settle: () => settle(current()),
    restart: async () => {
      await current().stop();
      replace(tracked(await startOperator(options)));
    },
    reconciled: async () => ({
      count: await metric('controller_runtime_reconcile_total', { controller: 'trainingrun' }),
      idle: (await metric('workqueue_depth', { name: 'trainingrun' })) === 0,
    }),
  };
}

/** The summary, printed and kept as Markdown in OUT_DIR/summary.md. */
function printSummary(): void {
  const lines = ['| figure | Lathe | peer (Trainer + JobSet) | Lathe / peer (goal ≤ 1.0) |', '| --- | ---: | ---: | ---: |', ...summary.map((r) => `| ${r.figure} | ${r.lathe} | ${r.peer} | ${r.ratio} |`)];
  out('');
  for (const l of lines) out(l);
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(path.join(OUT_DIR, 'summary.md'), `${lines.join('\n')}\n`);
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
  let op = tracked(await startOperator(options));
  const peer = PEER ? await startPeer() : undefined;
  const b: PeerBench | undefined = peer ? { api, peer, out, concurrency: CONCURRENCY } : undefined;
  out(`[bench] operator up on :${op.port}; Node ${execFileSync('node', ['--version'], { encoding: 'utf8' }).trim()} (hack/operator-node.sh)${peer ? '; peer: Kubeflow Trainer v2.1.0 + JobSet v0.10.1 (hack/tools.sh)' : ''}; figures from one run on this machine`);
  try {
    const latNs = await ns('bench-lat');
    const lat = await latency(latNs, op);
    let peerLat: number[] | undefined;
    if (b) {
      peerLat = await peerLatency(b, await ns('bench-peer-lat'), N_SINGLE);
      out(`peer, ${N_SINGLE} single TrainJobs one after another: create→first pod p50 ${ms(percentile(peerLat, 50))}, p99 ${ms(percentile(peerLat, 99))}`);
    }
    row(`single create → first pod, p50 (${N_SINGLE} runs)`, percentile(lat, 50), peerLat && percentile(peerLat, 50), ms);
    row(`single create → first pod, p99`, percentile(lat, 99), peerLat && percentile(peerLat, 99), ms);

    const lifeNs = await ns('bench-life');
    const lifeWrites = await lifecycle(lifeNs, op);
    let peerLife: number | undefined;
    if (b) {
      const l = await peerLifecycle(b, await ns('bench-peer-life'), N_LIFECYCLE);
      out(`peer, API writes per TrainJob lifecycle (create → Complete, ${N_LIFECYCLE} TrainJobs; rest_client_requests_total POST/PUT/PATCH/DELETE, Events included): ${l.per.toFixed(2)} (Trainer ${l.trainer.toFixed(2)}, JobSet ${l.jobset.toFixed(2)})`);
      peerLife = l.per;
    }
    row('API writes per lifecycle (create → Succeeded)', lifeWrites, peerLife, (v) => v.toFixed(2));

    const { rounds, peerNs } = await bursts(ns, op, b);
    let peerRest: { perMin: number; rssMb: number } | undefined;
    if (b && peerNs) {
      peerRest = await peerAfterBursts(b, peerNs);
      // Gone before Lathe's own steps at rest, so neither controller caches the other's objects.
      await dropNamespace(peerNs);
    }

    const runsNs = await ns('bench-runs');
    const plainMs = percentile(rounds.map((r) => r.plainMs), 50);
    op = await backlog(runsNs, op, options, plainMs);
    await finishRuns(runsNs, 'backlog-');
    const perMin = await atRest(op);
    row(`writes per minute at rest, ${N_BURST} finished`, perMin, peerRest?.perMin, (v) => v.toFixed(1));
    const rssMb = await rss([runsNs, lifeNs], runsNs, op);
    row(`controller RSS, ${N_CACHED} cached, at rest (MB)`, rssMb, peerRest?.rssMb, (v) => v.toFixed(1));
    printSummary();

    const sizes = scales();
    if (sizes.length > 0) {
      // Each controller restarted with nothing of the steps above cached, so the first size starts
      // from empty; Lathe first, its runs gone before the peer's start.
      await dropNamespace(runsNs);
      await dropNamespace(lifeNs);
      await dropNamespace(latNs);
      const scaleNs = await ns('bench-scale');
      const lathe = await scaling(latheScaleSubject(scaleNs, () => op, (o) => (op = o), options), sizes, out);
      const slopes = [linearity('Lathe', lathe)];
      out(slopes[0]!);
      await dropNamespace(scaleNs);
      let peerPoints: ScalePoint[] | undefined;
      if (b) {
        const peerScaleNs = await ns('bench-peer-scale');
        peerPoints = await scaling(peerScaleSubject(b, peerScaleNs), sizes, out);
        slopes.push(linearity('peer', peerPoints));
        out(slopes[1]!);
        // Gone while Trainer still runs: its runtime's finalizer waits for every TrainJob using it.
        await dropNamespace(peerScaleNs);
      }
      const curves = { lathe, ...(peerPoints ? { peer: peerPoints } : {}) };
      const table = scalingTable(curves);
      out('');
      out(table);
      mkdirSync(OUT_DIR, { recursive: true });
      writeFileSync(path.join(OUT_DIR, 'scaling.md'), `${table}\n\n${slopes.join('\n')}\n`);
      out(`[bench] scaling plot: ${await writePlot(curves, OUT_DIR)}`);
    }
  } finally {
    await op.stop();
    for (const n of namespaces) await deleteNamespace(core, n);
    await peer?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
