// The peer's side of `make bench`: the same steps as Lathe's, on Kubeflow Trainer v2 (TrainJob on a
// ClusterTrainingRuntime → JobSet → Job → pod; test/support/peer.ts runs the controllers).
//
// Its API writes are what its two controllers' clients report: controller-runtime registers
// client-go's `rest_client_requests_total{method}` in each process, and the bench sums POST, PUT,
// PATCH and DELETE over Trainer and JobSet. That counts Events too (one client), but not by
// resource, so the peer's figure has no "without Events" part.
import { resourcePath, type KubeClient } from '../../operator/src/client/kube-client.js';
import { RESOURCES } from '../../operator/src/k8s/resources.js';
import { metricSum } from '../../test/support/operator-process.js';
import { trainJob, type PeerProcess } from '../../test/support/peer.js';
import { waitFor } from '../../test/support/wait.js';
import { cpuOf, percentile, rssOf, writesSettled } from './procs.js';
import type { ScaleSubject } from './scaling.js';
import { byLabel, countNew, watchNew } from './watch.js';

/** The label JobSet puts on its Jobs and pods: the JobSet's name, which Trainer gives its TrainJob's. */
export const JOBSET_LABEL = 'jobset.sigs.k8s.io/jobset-name';
const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];

export interface PeerBench {
  api: KubeClient;
  peer: PeerProcess;
  out: (s: string) => void;
  concurrency: number;
}

export const trainJobsPath = (namespace: string, name?: string) => `/apis/trainer.kubeflow.org/v1alpha1/namespaces/${namespace}/trainjobs${name ? `/${name}` : ''}`;
const podsPath = (namespace: string) => resourcePath({ ...RESOURCES.pods, namespace });
const jobsPath = (namespace: string) => resourcePath({ ...RESOURCES.jobs, namespace });

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

const range = (n: number) => [...Array(n).keys()];

export async function createTrainJob(b: PeerBench, ns: string, name: string, suspend = false): Promise<void> {
  await b.api.create(trainJobsPath(ns), { ...trainJob(name, suspend), metadata: { name, namespace: ns } });
}

/** API writes so far, each controller's and in all. */
export async function peerWrites(b: PeerBench): Promise<{ trainer: number; jobset: number; all: number }> {
  const m = await b.peer.metrics();
  const sum = (text: string) => WRITE_METHODS.reduce((s, method) => s + metricSum(text, 'rest_client_requests_total', { method }), 0);
  const trainer = sum(m.trainer);
  const jobset = sum(m.jobset);
  return { trainer, jobset, all: trainer + jobset };
}

/** Trainer + JobSet CPU seconds so far. */
export function peerCpu(b: PeerBench): number {
  const { trainer, jobset } = b.peer.pids();
  return cpuOf(trainer) + cpuOf(jobset);
}

/** Waits until neither controller has written for 3 s. */
export async function peerSettle(b: PeerBench): Promise<void> {
  await writesSettled(async () => (await peerWrites(b)).all);
}

/** TrainJobs in `ns` whose Complete condition is True. */
async function completed(b: PeerBench, ns: string): Promise<number> {
  const list = await b.api.get<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>(trainJobsPath(ns));
  return list.items.filter((j) => j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')).length;
}

/** create → first pod of `n` single TrainJobs one after another (ms each), after one warm-up. */
export async function peerLatency(b: PeerBench, ns: string, n: number): Promise<number[]> {
  const created = new Map<string, number>();
  const lat: number[] = [];
  let warm = false;
  const watch = await watchNew(b.api, podsPath(ns), byLabel(JOBSET_LABEL, 'lat-'), (key, _o, at) => {
    if (key === 'lat-warmup') warm = true;
    const t0 = created.get(key);
    if (t0 !== undefined) lat.push(at - t0);
  }, b.out);
  await createTrainJob(b, ns, 'lat-warmup');
  await waitFor('the warm-up TrainJob pod', () => warm || undefined, 60_000, 2);
  for (let i = 0; i < n; i++) {
    const name = `lat-${i}`;
    created.set(name, performance.now());
    await createTrainJob(b, ns, name);
    await waitFor(`pod of TrainJob ${name}`, () => lat.length > i || undefined, 60_000, 2);
  }
  watch.abort();
  return lat;
}

/** API writes per TrainJob, create → Complete, over `n` TrainJobs (each pod runs kwok's 1.5 s). */
export async function peerLifecycle(b: PeerBench, ns: string, n: number): Promise<{ per: number; trainer: number; jobset: number }> {
  await peerSettle(b);
  const before = await peerWrites(b);
  await pool(range(n), 8, (i) => createTrainJob(b, ns, `life-${i}`));
  await waitFor('all lifecycle TrainJobs Complete', async () => (await completed(b, ns)) >= n || undefined, 300_000, 500);
  await peerSettle(b);
  const after = await peerWrites(b);
  return { per: (after.all - before.all) / n, trainer: (after.trainer - before.trainer) / n, jobset: (after.jobset - before.jobset) / n };
}

export interface BurstResult {
  /** First create until every TrainJob had a pod. */
  podsMs: number;
  /** Last create until every TrainJob had its Job (the controllers' own lag behind the creates). */
  lagMs: number;
  createsMs: number;
  cpuS: number;
}

/** `n` TrainJobs created at once (prefix `burst-`) until each has a pod. */
export async function peerBurst(b: PeerBench, ns: string, n: number): Promise<BurstResult> {
  const pods = await countNew(b.api, podsPath(ns), byLabel(JOBSET_LABEL, 'burst-'), b.out);
  const jobs = await countNew(b.api, jobsPath(ns), byLabel(JOBSET_LABEL, 'burst-'), b.out);
  const cpu0 = peerCpu(b);
  const t0 = performance.now();
  await pool(range(n), b.concurrency, (i) => createTrainJob(b, ns, `burst-${i}`));
  const tCreated = performance.now();
  await waitFor('all TrainJobs to have pods', () => (pods.seen() >= n && jobs.seen() >= n) || undefined, 900_000, 20);
  const result = { podsMs: pods.last() - t0, lagMs: Math.max(0, jobs.last() - tCreated), createsMs: tCreated - t0, cpuS: peerCpu(b) - cpu0 };
  pods.abort();
  jobs.abort();
  return result;
}

/** Writes per minute at rest over `restMs`, once the `n` TrainJobs in `ns` are Complete. */
export async function peerAtRest(b: PeerBench, ns: string, n: number, restMs: number): Promise<{ perMin: number; trainer: number; jobset: number }> {
  await waitFor(`${n} TrainJobs Complete`, async () => (await completed(b, ns)) >= n || undefined, 900_000, 2000);
  await peerSettle(b);
  const before = await peerWrites(b);
  await new Promise((r) => setTimeout(r, restMs));
  const after = await peerWrites(b);
  const perMin = (d: number) => (d * 60_000) / restMs;
  return { perMin: perMin(after.all - before.all), trainer: perMin(after.trainer - before.trainer), jobset: perMin(after.jobset - before.jobset) };
}

/** Objects in a list, from one item and the list's remainingItemCount (no 5,000-item reads). */
async function count(b: PeerBench, path: string): Promise<number> {
  const l = await b.api.get<{ items: unknown[]; metadata?: { remainingItemCount?: number } }>(path, { limit: 1 });
  return l.items.length + (l.metadata?.remainingItemCount ?? 0);
}

export interface RssResult {
  cached: number;
  medianMb: number;
  maxMb: number;
  trainerMb: number;
  jobsetMb: number;
}

/**
 * Trainer + JobSet RSS with `total` TrainJobs in `ns` (suspended ones added to reach it, each with
 * its JobSet and suspended Job, as Lathe's cached runs have their Jobs), at rest over 60 s.
 */
export async function peerRss(b: PeerBench, ns: string, total: number): Promise<RssResult> {
  const existing = await count(b, trainJobsPath(ns));
  const more = Math.max(0, total - existing);
  const jobs = (await count(b, jobsPath(ns))) + more; // one Job each (the runtime's one node)
  await pool(range(more), b.concurrency, (i) => createTrainJob(b, ns, `cached-${i}`, true));
  await waitFor('every cached TrainJob to have its Job', async () => (await count(b, jobsPath(ns))) >= jobs || undefined, 1_800_000, 5000);
  await peerSettle(b);
  const { trainer, jobset } = b.peer.pids();
  const samples: { t: number; j: number }[] = [];
  for (let i = 0; i < 12; i++) {
    await new Promise((r) => setTimeout(r, 5000));
    samples.push({ t: rssOf(trainer), j: rssOf(jobset) });
  }
  const sums = samples.map((s) => s.t + s.j);
  return {
    cached: existing + more,
    medianMb: percentile(sums, 50),
    maxMb: Math.max(...sums),
    trainerMb: percentile(samples.map((s) => s.t), 50),
    jobsetMb: percentile(samples.map((s) => s.j), 50),
  };
}

/** The peer as the scaling steps drive it (hack/bench/scaling.ts): suspended TrainJobs in `ns`. */
export function peerScaleSubject(b: PeerBench, ns: string): ScaleSubject {
  // Each controller's own name in controller-runtime's metrics.
  const controllers = { trainer: 'trainjob_controller', jobset: 'jobset' } as const;
  return {
    name: 'peer',
    create: (prefix, n) => pool(range(n), b.concurrency, (i) => createTrainJob(b, ns, `${prefix}${i}`, true)),
    jobs: () => count(b, jobsPath(ns)),
    cpuS: () => peerCpu(b),
    rssMb: () => {
      const { trainer, jobset } = b.peer.pids();
      return Promise.resolve(rssOf(trainer) + rssOf(jobset));
    },
    settle: () => peerSettle(b),
    restart: () => b.peer.restart(),
    reconciled: async () => {
      const m = await b.peer.metrics();
      const done = (text: string, name: string) => metricSum(text, 'controller_runtime_reconcile_total', { controller: name });
      const depth = (text: string, name: string) => metricSum(text, 'workqueue_depth', { name });
      return {
        count: Math.min(done(m.trainer, controllers.trainer), done(m.jobset, controllers.jobset)),
        idle: depth(m.trainer, controllers.trainer) === 0 && depth(m.jobset, controllers.jobset) === 0,
      };
    },
  };
}
