// The TrainingRun reconciler without a cluster: in-memory caches, a recording writer and an object
// store that can go down, so the branches e2e reaches only by luck of timing are pinned here (the
// S3 outage, the metadata grace period, the first-status and burst deferrals, a deleted Job, a
// repeated create after a crash, and "no write when nothing changed").
import type { CoreV1Event, V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { FakeWriter, MemoryCache, MemoryStore, RecordingEvents, TestClock } from '../../../test/support/fakes.js';
import { T0, makeJob, makePod, makeTrainingRun, makeWorkload } from '../../../test/support/builders.js';
import { jobUidOfWorkload, type Workload } from '../k8s/kueue.js';
import { jobOfPod } from '../k8s/job-pods.js';
import { trainerMetadata } from '../../../test/support/metadata.js';
import type { TrainingRun, TrainingRunStatus } from '../api/schema/trainingrun.js';
import { configWith } from '../../../test/support/config.js';
import type { OperatorConfig } from '../config/operator-config.js';
import { silentLogger } from '../runtime/logger.js';
import { METADATA_GRACE_MS, S3_RETRY_MS } from './artifacts.js';
import { BurstTracker } from './burst.js';
import { FIRST_STATUS_DELAY_MS } from './first-status.js';
import { runId, runLocation } from './names.js';
import { TrainingRunReconciler } from './reconciler.js';
import { REJECTED_RETRY_MS } from '../k8s/pod-create-failure.js';
import { KubeApiError } from '../client/errors.js';

const KEY = 'ml/r';

function harness(o: { run?: TrainingRun; jobs?: V1Job[]; pods?: V1Pod[]; events?: CoreV1Event[]; workloads?: Workload[]; config?: Partial<OperatorConfig> } = {}) {
  const clock = new TestClock(T0.getTime() + 60_000);
  const runs = new MemoryCache<TrainingRun>(o.run ? [o.run] : [makeTrainingRun('r').obj()]);
  const jobs = new MemoryCache<V1Job>(o.jobs);
  const pods = new MemoryCache<V1Pod>(o.pods, jobOfPod);
  const jobEvents = new MemoryCache<CoreV1Event>(o.events);
  // Kueue's Workloads are read only when given (LATHE_KUEUE).
  const workloads = o.workloads ? new MemoryCache<Workload>(o.workloads, jobUidOfWorkload) : undefined;
  const writer = new FakeWriter(clock.now);
  for (const j of o.jobs ?? []) writer.server.set(`/apis/batch/v1/namespaces/ml/jobs/${j.metadata!.name}`, j);
  const store = new MemoryStore();
  const events = new RecordingEvents();
  const burst = new BurstTracker(() => clock.now().getTime());
  const config = configWith({ s3Bucket: 'lathe-artifacts', progressPollMs: 15_000, ...o.config });
  const reconciler = new TrainingRunReconciler({ config, writer, store, events, logger: silentLogger(), runs, jobs, pods, jobEvents, ...(workloads ? { workloads } : {}), burst, now: clock.now });
  const run = runs.get('ml', 'r')!;
  const loc = runLocation('lathe-artifacts', 'r', runId(run.metadata));
  const statuses = () => writer.writesOf('apply', 'TrainingRun/status').map((w) => w.body as TrainingRunStatus);
  const last = () => statuses().at(-1);
  const reason = () => last()?.conditions?.find((c) => c.type === 'Ready')?.reason;
  return { clock, runs, jobs, pods, jobEvents, workloads, writer, store, events, burst, reconciler, loc, statuses, last, reason };
}

/** A run that has been Running on attempt 1. */
function runningRun(extra: Partial<TrainingRunStatus> = {}): TrainingRun {
  return makeTrainingRun('r')
    .status({ phase: 'Running', attempts: 1, jobName: 'r-1', observedGeneration: 1, preemptions: 0, ...extra })
    .obj();
}

describe('TrainingRunReconciler', () => {
  it('creates a distributed run\'s NetworkPolicy with its headless Service, once, before the Job (LATHE_NETWORK_POLICIES)', async () => {
    const run = makeTrainingRun('r').obj();
    run.spec.workers = 2;
    const h = harness({ run, config: { networkPolicies: true } });
    await h.reconciler.reconcile(KEY);
    expect(h.writer.writes.filter((w) => w.verb === 'create').map((w) => `${w.kind}/${w.name}`)).toEqual(['Service/r', 'NetworkPolicy/r', 'Job/r-1']);
    const off = harness({ run });
    await off.reconciler.reconcile(KEY);
    expect(off.writer.writesOf('create', 'NetworkPolicy')).toEqual([]);
  });

  it('creates the Job once, holds the first status a moment, and writes nothing when nothing changed', async () => {
    const h = harness();
    const first = await h.reconciler.reconcile(KEY);
    expect(h.writer.writesOf('create', 'Job').map((w) => w.name)).toEqual(['r-1']);
    expect(first).toEqual({ requeueAfterMs: FIRST_STATUS_DELAY_MS });
    expect(h.statuses()).toEqual([]);
    expect(h.events.reasons()).toEqual(['JobCreated']);

    // The watch delivers the Job and its running pod; the first status says Running, not Pending.
    const job = await h.writer.get<V1Job>('/apis/batch/v1/namespaces/ml/jobs/r-1');
    h.jobs.set({ ...job, metadata: { ...job.metadata, labels: { ...job.metadata!.labels } } });
    h.pods.set(makePod('r-1-0').of('r-1', 'r').phase('Running').obj());
    h.clock.advance(FIRST_STATUS_DELAY_MS);
    expect(await h.reconciler.reconcile(KEY)).toEqual({ requeueAfterMs: 15_000 });
    expect(h.statuses().map((s) => s.phase)).toEqual(['Running']);
    expect(h.last()).toMatchObject({ attempts: 1, jobName: 'r-1', runId: runId(h.runs.get('ml', 'r')!.metadata) });

    const writes = h.writer.writes.length;
    await h.reconciler.reconcile(KEY);
    await h.reconciler.reconcile(KEY);
    expect(h.writer.writes.length).toBe(writes);
    expect(h.writer.writesOf('create', 'Job')).toHaveLength(1);
  });

  it('creates no second Job after a crash between the create and the status write (409)', async () => {
    // The Job exists on the server but the restarted operator's cache has not shown it yet.
    const h = harness();
    h.writer.server.set('/apis/batch/v1/namespaces/ml/jobs/r-1', makeJob('r-1').run('r').obj());
    await h.reconciler.reconcile(KEY);
    expect(h.writer.writesOf('create', 'Job')).toHaveLength(1); // one attempt, answered 409
    expect(h.events.reasons()).toEqual([]); // no JobCreated for a Job this process did not create
  });

  it('holds first statuses while other new runs wait for their Jobs (burst), then writes', async () => {
    const job = makeJob('r-1').run('r').created(new Date(T0.getTime() + 55_000)).obj();
    const h = harness({ jobs: [job] });
    h.burst.arrived('ml/other');
    expect(await h.reconciler.reconcile(KEY)).toEqual({ requeueAfterMs: FIRST_STATUS_DELAY_MS });
    expect(h.statuses()).toEqual([]);
    h.burst.reconciled('ml/other');
    h.clock.advance(1_000);
    await h.reconciler.reconcile(KEY);
    expect(h.statuses().map((s) => s.phase)).toEqual(['Pending']);
  });

  it('keeps a completed run Running while S3 is down, retrying, and records it once S3 answers', async () => {
    const h = harness({ run: runningRun(), jobs: [makeJob('r-1').run('r').complete(T0).obj()] });
    h.store.down = true;
    expect(await h.reconciler.reconcile(KEY)).toEqual({ requeueAfterMs: S3_RETRY_MS });
    expect(h.last()).toMatchObject({ phase: 'Running' });
    expect(h.reason()).toBe('S3Unavailable');
    // However long the outage, it never ends the run.
    h.clock.advance(2 * METADATA_GRACE_MS);
    await h.reconciler.reconcile(KEY);
    expect(h.last()?.phase).toBe('Running');

    h.store.down = false;
    const uri = `${h.loc.prefixUri}checkpoint/`;
    await h.store.putJson(h.loc.bucket, `${h.loc.keyPrefix}metadata.json`, trainerMetadata(runId(h.runs.get('ml', 'r')!.metadata), uri));
    expect(await h.reconciler.reconcile(KEY)).toBeUndefined();
    expect(h.last()).toMatchObject({ phase: 'Succeeded', artifact: { uri, metadataUri: `${h.loc.prefixUri}metadata.json`, recordUri: `${h.loc.prefixUri}run.json` } });
    expect(h.store.objects.get(`${h.loc.bucket}/${h.loc.keyPrefix}run.json`)).toMatchObject({ phase: 'Succeeded', artifact: { uri } });
    expect(h.events.reasons()).toEqual(['Succeeded']);
  });

  it('gives a missing metadata.json the grace period, then fails the run and records why', async () => {
    const h = harness({ run: runningRun(), jobs: [makeJob('r-1').run('r').complete(new Date(T0.getTime() + 60_000)).obj()] });
    await h.reconciler.reconcile(KEY);
    expect(h.last()?.phase).toBe('Running');
    expect(h.reason()).toBe('MetadataMissing');
    expect(h.store.objects.has(`${h.loc.bucket}/${h.loc.keyPrefix}run.json`)).toBe(false);

    h.clock.advance(METADATA_GRACE_MS + 1);
    await h.reconciler.reconcile(KEY);
    expect(h.last()).toMatchObject({ phase: 'Failed', message: expect.stringContaining('metadata.json does not exist') });
    expect(h.store.objects.get(`${h.loc.bucket}/${h.loc.keyPrefix}run.json`)).toMatchObject({ phase: 'Failed', message: expect.stringContaining('metadata.json') });
  });

  it('is not Failed before its run.json is written', async () => {
    const h = harness({ run: runningRun(), jobs: [makeJob('r-1').run('r').failed('BackoffLimitExceeded').obj()] });
    h.store.down = true;
    expect(await h.reconciler.reconcile(KEY)).toEqual({ requeueAfterMs: S3_RETRY_MS });
    expect(h.last()).toMatchObject({ phase: 'Running', message: expect.stringContaining('(recording: writing run.json') });
    h.store.down = false;
    await h.reconciler.reconcile(KEY);
    expect(h.last()).toMatchObject({ phase: 'Failed', message: 'the trainer failed more often than spec.retries allows' });
    expect(h.store.objects.get(`${h.loc.bucket}/${h.loc.keyPrefix}run.json`)).toMatchObject({ phase: 'Failed' });
  });

  it('retries real failures in the same Job up to spec.retries, then fails with "too many failures" and the trainer\'s last error', async () => {
    // The Job carries the budget: backoffLimit = spec.retries (preemptions are ignored by its podFailurePolicy).
    const fresh = harness({ run: makeTrainingRun('r').retries(2).obj() });
    await fresh.reconciler.reconcile(KEY);
    expect((fresh.writer.writesOf('create', 'Job')[0]!.body as V1Job).spec!.backoffLimit).toBe(2);

    const run = makeTrainingRun('r').retries(2).status({ phase: 'Running', attempts: 1, jobName: 'r-1', observedGeneration: 1, preemptions: 0 }).obj();
    const failedPod = (name: string, at: number, message: string) =>
      makePod(name).of('r-1', 'r').created(new Date(T0.getTime() + at)).exited(1, message).obj();
    const h = harness({
      run,
      jobs: [makeJob('r-1').run('r').failures(1).obj()],
      pods: [failedPod('r-1-a', 1_000, 'RuntimeError: CUDA out of memory'), makePod('r-1-b').of('r-1', 'r').created(new Date(T0.getTime() + 2_000)).phase('Running').obj()],
    });
    // One real failure: the Job controller starts a new pod; the run stays Running on attempt 1 and counts it.
    await h.reconciler.reconcile(KEY);
    expect(h.last()).toMatchObject({ phase: 'Running', attempts: 1, failures: 1, preemptions: 0 });
    // The second failure: still within spec.retries.
    h.jobs.set(makeJob('r-1').run('r').failures(2).obj());
    h.pods.set(failedPod('r-1-b', 2_000, 'RuntimeError: CUDA out of memory'));
    h.pods.set(makePod('r-1-c').of('r-1', 'r').created(new Date(T0.getTime() + 3_000)).phase('Running').obj());
    await h.reconciler.reconcile(KEY);
    expect(h.last()).toMatchObject({ phase: 'Running', attempts: 1, failures: 2 });
    // The third: more than spec.retries (2) allows; the Job fails, and so does the run, saying why.
    h.jobs.set(makeJob('r-1').run('r').failures(3).failed('BackoffLimitExceeded').obj());
    h.pods.set(failedPod('r-1-c', 3_000, 'RuntimeError: loss is NaN'));
    await h.reconciler.reconcile(KEY);
    const message = 'the trainer failed more often than spec.retries allows: RuntimeError: loss is NaN';
    expect(h.last()).toMatchObject({ phase: 'Failed', attempts: 1, failures: 3, message });
    expect(h.last()!.conditions!.find((c) => c.type === 'Failed')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded', message });
    // Real failures never start another attempt: that is the Job's backoffLimit, not a new Job.
    expect(h.writer.writesOf('create', 'Job')).toEqual([]);
  });

  it('starts attempt 2, saying why, when the Job of a running run was deleted', async () => {
    const h = harness({ run: runningRun() });
    await h.reconciler.reconcile(KEY);
    expect(h.writer.writesOf('create', 'Job').map((w) => w.name)).toEqual(['r-2']);
    expect(h.events.events.find((e) => e.reason === 'JobDeleted')).toMatchObject({ type: 'Warning', message: 'Job r-1 was deleted while the run was Running; starting attempt 2' });
    expect(h.last()).toMatchObject({ attempts: 2, jobName: 'r-2' });
  });

  it('counts a preempted pod once, across passes', async () => {
    const h = harness({
      run: runningRun(),
      jobs: [makeJob('r-1').run('r').obj()],
      pods: [makePod('r-1-0-a').of('r-1', 'r').disrupted().obj(), makePod('r-1-0-b').of('r-1', 'r').phase('Running').obj()],
    });
    await h.reconciler.reconcile(KEY);
    await h.reconciler.reconcile(KEY);
    expect(h.statuses().map((s) => s.preemptions)).toEqual([1]);
  });

  it('waits for a run:// model without creating anything, and says which run', async () => {
    const h = harness({ run: makeTrainingRun('r').model('run://base').obj() });
    expect(await h.reconciler.reconcile(KEY)).toBeUndefined();
    expect(h.writer.writesOf('create')).toEqual([]);
    expect(h.last()).toMatchObject({ phase: 'Pending', message: 'spec.model: TrainingRun base does not exist' });
  });

  it('cannot start from a failed run, and says so', async () => {
    const h = harness({ run: makeTrainingRun('r').model('run://base').obj() });
    h.runs.set(makeTrainingRun('base').status({ phase: 'Failed', observedGeneration: 1 }).obj());
    await h.reconciler.reconcile(KEY);
    expect(h.writer.writesOf('create')).toEqual([]);
    expect(h.last()).toMatchObject({ phase: 'Pending', message: 'spec.model: TrainingRun base failed; it has no model to start from' });
    expect(h.reason()).toBe('ModelFailed');
  });

  it('leaves a finished run alone once its Job is gone (ttlAfterFinished): no Job again, no write', async () => {
    const done = makeTrainingRun('r').status({ phase: 'Succeeded', attempts: 1, jobName: 'r-1', observedGeneration: 1 }).obj();
    const h = harness({ run: done });
    await h.reconciler.reconcile(KEY);
    expect(h.writer.writes).toEqual([]);
    // A later edit (only spec.suspend may change) is acknowledged, and it stays Succeeded.
    h.runs.set({ ...done, metadata: { ...done.metadata, generation: 2 }, spec: { ...done.spec, suspend: true } });
    await h.reconciler.reconcile(KEY);
    expect(h.writer.writesOf('create')).toEqual([]);
    expect(h.statuses()).toEqual([expect.objectContaining({ phase: 'Succeeded', observedGeneration: 2 })]);
  });

  it('shows a Job the API server refuses, with its words, instead of failing every pass in silence', async () => {
    const h = harness();
    h.writer.refuse.set('Job', new KubeApiError(422, { reason: 'Invalid', message: 'Job.batch "r-1" is invalid: spec.template.labels: Invalid value: "x": must be \'r-1\'' }));
    expect(await h.reconciler.reconcile(KEY)).toEqual({ requeueAfterMs: REJECTED_RETRY_MS });
    expect(h.last()).toMatchObject({ phase: 'Pending', message: expect.stringContaining('the API server refused Job r-1: Job.batch "r-1" is invalid') });
    expect(h.last()!.conditions!.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'ChildRejected' });
    expect(h.events.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'ChildRejected' })]);
    // Anything else (a 500, a timeout) is an error the work queue retries with backoff.
    h.writer.refuse.set('Job', new KubeApiError(500, { message: 'etcdserver: leader changed' }));
    await expect(h.reconciler.reconcile(KEY)).rejects.toThrow('leader changed');
  });

  it('undoes a second writer\'s change to a finished run\'s message, from its Ready condition', async () => {
    const ready = { type: 'Ready', status: 'True' as const, reason: 'Succeeded', message: 'model written to s3://b/m/checkpoint/', observedGeneration: 1, lastTransitionTime: T0.toISOString() };
    const done = makeTrainingRun('r').status({ phase: 'Succeeded', observedGeneration: 1, message: 'changed by someone else', conditions: [ready] }).obj();
    const h = harness({ run: done });
    await h.reconciler.reconcile(KEY);
    expect(h.statuses()).toEqual([expect.objectContaining({ phase: 'Succeeded', message: 'model written to s3://b/m/checkpoint/' })]);
    expect(h.writer.writesOf('create')).toEqual([]);
  });

  describe('with Kueue (LATHE_KUEUE)', () => {
    const queued = (status: Partial<TrainingRunStatus> = {}) =>
      makeTrainingRun('r').queue('team-a').status({ phase: 'Running', attempts: 1, jobName: 'r-1', observedGeneration: 1, preemptions: 0, ...status }).obj();
    const job = makeJob('r-1').run('r').submittedTo('team-a').obj();

    it('counts a Kueue preemption once, with a Warning, across an operator restart', async () => {
      const w = makeWorkload('job-r-1').ownedBy(job).preempted(1).obj();
      const h = harness({ run: queued(), jobs: [job], workloads: [w] });
      await h.reconciler.reconcile(KEY);
      expect(h.last()).toMatchObject({ phase: 'Queued', preemptions: 1, queue: { workload: 'job-r-1', preemptions: 1 } });
      expect(h.reason()).toBe('Preempted');
      expect(h.events.reasons()).toContain('Preempted');

      // A new process reads the status it wrote: the same eviction is not counted again.
      const again = harness({ run: makeTrainingRun('r').queue('team-a').status(h.last()!).obj(), jobs: [job], workloads: [w] });
      await again.reconciler.reconcile(KEY);
      expect(again.statuses()).toEqual([]);
      expect(again.events.reasons()).not.toContain('Preempted');
    });

    it('shows a missing LocalQueue as Stalled with one Warning, and keeps watching', async () => {
      const w = makeWorkload('job-r-1').ownedBy(job).inadmissible("LocalQueue team-a doesn't exist").obj();
      const h = harness({ run: queued({ phase: 'Queued' }), jobs: [job], workloads: [w] });
      await h.reconciler.reconcile(KEY);
      expect(h.reason()).toBe('LocalQueueNotFound');
      expect(h.last()!.conditions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'Stalled', status: 'True', reason: 'LocalQueueNotFound' }),
          expect.objectContaining({ type: 'Reconciling', status: 'False' }),
        ]),
      );
      expect(h.events.events.filter((e) => e.type === 'Warning').map((e) => e.reason)).toEqual(['LocalQueueNotFound']);
    });

    it('suspends an admitted queued run by deactivating its Workload, never by patching the Job', async () => {
      const running = makeJob('r-1').run('r').submittedTo('team-a').suspended(false).obj();
      const w = makeWorkload('job-r-1').ownedBy(running).admitted().obj();
      const h = harness({ run: makeTrainingRun('r').queue('team-a').suspend().status({ phase: 'Running', attempts: 1, jobName: 'r-1', observedGeneration: 2 }).obj(), jobs: [running], workloads: [w] });
      await h.reconciler.reconcile(KEY);
      expect(h.writer.writesOf('patch', 'Workload').map((x) => x.body)).toEqual([expect.objectContaining({ spec: { active: false } })]);
      expect(h.writer.writesOf('patch', 'Job')).toEqual([]);
    });
  });
});
