// The TrainingRun metrics: gauges counted from the cache at scrape time (so they follow the cache,
// with no writes and no event bookkeeping), and the preemption counter the reconciler increments
// once per disrupted pod, when a status carrying it is written.
import type { CoreV1Event, V1Job, V1Pod } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { T0, makeJob, makePod, makeTrainingRun, makeWorkload } from '../../../test/support/builders.js';
import { configWith } from '../../../test/support/config.js';
import { FakeWriter, MemoryCache, MemoryStore, RecordingEvents, TestClock } from '../../../test/support/fakes.js';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import { jobUidOfWorkload, type Workload } from '../k8s/kueue.js';
import { silentLogger } from '../runtime/logger.js';
import { createRegistry } from '../runtime/metrics.js';
import { BurstTracker } from './burst.js';
import { TRAINING_RUN_METRICS, trainingRunMetrics, waitingSince } from './metrics.js';
import { TrainingRunReconciler } from './reconciler.js';
import { jobOfPod } from '../k8s/job-pods.js';

async function values(registry: Registry, name: string): Promise<Record<string, number>> {
  const m = registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const out: Record<string, number> = {};
  for (const v of (await m.get()).values) {
    out[Object.entries(v.labels).map(([k, l]) => `${k}=${l}`).join(',')] = v.value;
  }
  return out;
}

const condition = (type: string, status: 'True' | 'False', at: Date) => ({ type, status, reason: 'R', message: '', lastTransitionTime: at.toISOString() });

/** A run that has been Running on attempt 1. */
const running = () => makeTrainingRun('r').status({ phase: 'Running', attempts: 1, jobName: 'r-1', observedGeneration: 1, preemptions: 0 });

/** A reconciler over the fakes whose counters land in `registry`. */
function reconcilerOver(o: { runs: MemoryCache<TrainingRun>; jobs: V1Job[]; pods?: MemoryCache<V1Pod>; workloads?: Workload[] }) {
  const registry = createRegistry({ defaultMetrics: false });
  const clock = new TestClock(T0.getTime() + 60_000);
  const writer = new FakeWriter(clock.now);
  const reconciler = new TrainingRunReconciler({
    config: configWith({ s3Bucket: 'lathe-artifacts' }),
    writer,
    store: new MemoryStore(),
    events: new RecordingEvents(),
    logger: silentLogger(),
    runs: o.runs,
    jobs: new MemoryCache<V1Job>(o.jobs),
    pods: o.pods ?? new MemoryCache<V1Pod>([], jobOfPod),
    jobEvents: new MemoryCache<CoreV1Event>(),
    ...(o.workloads ? { workloads: new MemoryCache<Workload>(o.workloads, jobUidOfWorkload) } : {}),
    burst: new BurstTracker(() => clock.now().getTime()),
    metrics: trainingRunMetrics(registry, o.runs),
    now: clock.now,
  });
  return { registry, clock, writer, reconciler };
}

describe('TrainingRun metrics', () => {
  it('counts runs by namespace and phase from the cache at scrape time, zeros included', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const runs = new MemoryCache<TrainingRun>([
      makeTrainingRun('a').status({ phase: 'Running' }).obj(),
      makeTrainingRun('b').status({ phase: 'Running' }).obj(),
      makeTrainingRun('c').status({ phase: 'Failed' }).obj(),
      makeTrainingRun('new').obj(), // not reconciled yet: Pending
      makeTrainingRun('d').namespace('research').status({ phase: 'Queued' }).obj(),
    ]);
    trainingRunMetrics(registry, runs);
    expect(await values(registry, TRAINING_RUN_METRICS.runs)).toEqual({
      'object_namespace=ml,phase=Pending': 1,
      'object_namespace=ml,phase=Queued': 0,
      'object_namespace=ml,phase=Running': 2,
      'object_namespace=ml,phase=Succeeded': 0,
      'object_namespace=ml,phase=Failed': 1,
      'object_namespace=ml,phase=Suspended': 0,
      'object_namespace=research,phase=Pending': 0,
      'object_namespace=research,phase=Queued': 1,
      'object_namespace=research,phase=Running': 0,
      'object_namespace=research,phase=Succeeded': 0,
      'object_namespace=research,phase=Failed': 0,
      'object_namespace=research,phase=Suspended': 0,
    });

    // The cache changes; the next scrape follows it (a namespace with no runs left disappears).
    runs.set(makeTrainingRun('c').status({ phase: 'Succeeded' }).obj());
    runs.delete('research', 'd');
    const next = await values(registry, TRAINING_RUN_METRICS.runs);
    expect(next).toMatchObject({ 'object_namespace=ml,phase=Failed': 0, 'object_namespace=ml,phase=Succeeded': 1 });
    expect(Object.keys(next).some((k) => k.includes('research'))).toBe(false);
  });

  it('reports how long the longest-waiting run has been Pending or Queued', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const now = T0.getTime() + 3_600_000;
    const runs = new MemoryCache<TrainingRun>([
      makeTrainingRun('old').status({ phase: 'Pending' }).obj(), // created at T0: an hour
      // Admitted by Kueue 10 minutes ago: it has waited as Pending since then, not since creation.
      makeTrainingRun('admitted').status({ phase: 'Pending', conditions: [condition('Queued', 'False', new Date(now - 600_000))] }).obj(),
      makeTrainingRun('queued').namespace('research').status({ phase: 'Queued', conditions: [condition('Queued', 'True', new Date(now - 120_000))] }).obj(),
      makeTrainingRun('running').status({ phase: 'Running' }).obj(),
    ]);
    trainingRunMetrics(registry, runs, () => now);
    expect(await values(registry, TRAINING_RUN_METRICS.waiting)).toEqual({
      'object_namespace=ml,phase=Pending': 3600,
      'object_namespace=research,phase=Queued': 120,
    });
    expect(waitingSince(runs.get('ml', 'admitted')!)).toBe(now - 600_000);

    // Once it runs, it waits no more: the series goes away.
    runs.set(makeTrainingRun('old').status({ phase: 'Running' }).obj());
    expect(await values(registry, TRAINING_RUN_METRICS.waiting)).toEqual({ 'object_namespace=ml,phase=Pending': 600, 'object_namespace=research,phase=Queued': 120 });
  });

  it('counts each preempted pod once, when the reconciler writes the status that carries it', async () => {
    const runs = new MemoryCache<TrainingRun>([running().obj()]);
    const pods = new MemoryCache<V1Pod>([makePod('r-1-0-a').of('r-1', 'r').disrupted().obj(), makePod('r-1-0-b').of('r-1', 'r').phase('Running').obj()], jobOfPod);
    const { registry, writer, reconciler } = reconcilerOver({ runs, jobs: [makeJob('r-1').run('r').obj()], pods });
    // Zero before the first, for every namespace with runs, so increase() sees the first one.
    expect(await values(registry, TRAINING_RUN_METRICS.preemptions)).toEqual({ 'object_namespace=ml,source=pod': 0, 'object_namespace=ml,source=kueue': 0 });
    await reconciler.reconcile('ml/r');
    await reconciler.reconcile('ml/r');
    expect(await values(registry, TRAINING_RUN_METRICS.preemptions)).toMatchObject({ 'object_namespace=ml,source=pod': 1 });

    // A second pod preempted later: counted once more.
    pods.set(makePod('r-1-0-b').of('r-1', 'r').disrupted().obj());
    await reconciler.reconcile('ml/r');
    await reconciler.reconcile('ml/r');
    expect(await values(registry, TRAINING_RUN_METRICS.preemptions)).toMatchObject({ 'object_namespace=ml,source=pod': 2 });

    // A status write that fails counts nothing (the next pass counts it, once).
    pods.set(makePod('r-1-0-c').of('r-1', 'r').disrupted().obj());
    const applyStatus = writer.applyStatus.bind(writer);
    writer.applyStatus = () => Promise.reject(new Error('conflict'));
    await expect(reconciler.reconcile('ml/r')).rejects.toThrow('conflict');
    expect(await values(registry, TRAINING_RUN_METRICS.preemptions)).toMatchObject({ 'object_namespace=ml,source=pod': 2 });
    writer.applyStatus = applyStatus;
    await reconciler.reconcile('ml/r');
    expect(await values(registry, TRAINING_RUN_METRICS.preemptions)).toMatchObject({ 'object_namespace=ml,source=pod': 3 });
  });

  it("counts a Kueue preemption of the run's Workload once, as source kueue", async () => {
    const job = makeJob('r-1').run('r').submittedTo('team-a').obj();
    const runs = new MemoryCache<TrainingRun>([running().queue('team-a').obj()]);
    const { registry, reconciler } = reconcilerOver({ runs, jobs: [job], workloads: [makeWorkload('job-r-1').ownedBy(job).preempted(1).obj()] });
    await reconciler.reconcile('ml/r');
    await reconciler.reconcile('ml/r');
    expect(await values(registry, TRAINING_RUN_METRICS.preemptions)).toEqual({ 'object_namespace=ml,source=pod': 0, 'object_namespace=ml,source=kueue': 1 });
  });

  it('counts a run that fails once, when the Failed status is written, and not again at rest', async () => {
    const runs = new MemoryCache<TrainingRun>([running().obj()]);
    const { registry, writer, reconciler } = reconcilerOver({ runs, jobs: [makeJob('r-1').run('r').failed().obj()] });
    expect(await values(registry, TRAINING_RUN_METRICS.failed)).toEqual({ 'object_namespace=ml': 0 });
    await reconciler.reconcile('ml/r');
    const failed = writer.writesOf('apply', 'TrainingRun/status').at(-1)!.body as TrainingRun['status'];
    expect(failed!.phase).toBe('Failed');
    runs.set({ ...runs.get('ml', 'r')!, status: failed });
    await reconciler.reconcile('ml/r');
    expect(await values(registry, TRAINING_RUN_METRICS.failed)).toEqual({ 'object_namespace=ml': 1 });
  });
});
