import { describe, expect, it } from 'vitest';
import { FakeWriter, RecordingEvents } from '../../../test/support/fakes.js';
import { makeJob, makeTrainingRun, makeWorkload } from '../../../test/support/builders.js';
import { SUSPENDED_BY_LATHE } from '../k8s/kueue.js';
import { kueuePreemptions, queuedPhase, syncQueuedSuspend } from './queueing.js';

const run = (suspend = false) => makeTrainingRun('r').queue('team-a').suspend(suspend).obj();
const job = () => makeJob('r-1').run('r').submittedTo('team-a').obj();
const workload = () => makeWorkload('job-r-1-abcde').ownedBy(job());

describe('queuedPhase: what Kueue says, in the run', () => {
  it("puts Kueue's quota message in a waiting Queued", () => {
    const w = workload().pending("couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor gpu, 2 more needed").obj();
    const p = queuedPhase(run(), job(), w, true);
    expect(p).toMatchObject({ phase: 'Queued', reason: 'WaitingForAdmission' });
    expect(p.message).toContain('insufficient unused quota for nvidia.com/gpu in flavor gpu, 2 more needed');
  });

  it('names a missing LocalQueue as its own, blocked reason, with what to do', () => {
    const p = queuedPhase(run(), job(), workload().inadmissible("LocalQueue team-a doesn't exist").obj(), true);
    expect(p.reason).toBe('LocalQueueNotFound');
    expect(p.message).toContain('create LocalQueue team-a in namespace ml');
    expect(queuedPhase(run(), job(), workload().inadmissible('ClusterQueue gpu is inactive').obj(), true).reason).toBe('Inadmissible');
  });

  it('says a run was preempted while it waits to be admitted again', () => {
    const p = queuedPhase(run(), job(), workload().preempted().obj(), true);
    expect(p.reason).toBe('Preempted');
    expect(p.message).toContain('due to prioritization in the ClusterQueue');
    expect(p.message).toContain('insufficient unused quota');
  });

  it("tells a Workload deactivated by Kueue or a person from one Lathe suspended", () => {
    const other = queuedPhase(run(), job(), workload().inactive(false, 'exceeded the requeuing limit').obj(), true);
    expect(other.reason).toBe('WorkloadDeactivated');
    expect(other.message).toContain('exceeded the requeuing limit');
    expect(other.message).toContain(`-p '{"spec":{"active":true}}'`);
    expect(queuedPhase(run(), job(), workload().inactive(true).obj(), true).reason).toBe('WaitingForAdmission');
    expect(queuedPhase(run(true), job(), workload().inactive(true).obj(), true)).toMatchObject({ phase: 'Suspended', reason: 'Suspended' });
  });

  it('shows a run created suspended as Suspended, not submitted to Kueue', () => {
    const unsubmitted = makeJob('r-1').run('r').suspended().obj();
    expect(queuedPhase(run(true), unsubmitted, undefined, false)).toMatchObject({ phase: 'Suspended' });
    expect(queuedPhase(run(true), unsubmitted, undefined, false).message).toContain('submitted to Kueue LocalQueue team-a when resumed');
  });

  it('without Workload access, says so, and refuses to pretend a submitted run is suspended', () => {
    expect(queuedPhase(run(), job(), undefined, false).message).toContain("chart's kueue.enabled");
    expect(queuedPhase(run(true), job(), undefined, false).reason).toBe('SuspendNeedsKueue');
  });

  it('reports admission and reserved quota while the Job is still suspended', () => {
    expect(queuedPhase(run(), job(), workload().admitted('gpu').obj(), true).message).toContain('admitted by Kueue to ClusterQueue gpu');
  });
});

describe('kueuePreemptions: counted once, across restarts', () => {
  it("adds only the Workload's preemptions that status has not counted", () => {
    const w = workload().preempted(2).obj();
    expect(kueuePreemptions(w, undefined)).toEqual({ queue: { workload: 'job-r-1-abcde', preemptions: 2 }, added: 2 });
    // Written once, read back by a restarted operator: nothing added again.
    expect(kueuePreemptions(w, { queue: { workload: 'job-r-1-abcde', preemptions: 2 } }).added).toBe(0);
    expect(kueuePreemptions(workload().preempted(3).obj(), { queue: { workload: 'job-r-1-abcde', preemptions: 2 } }).added).toBe(1);
    // A new attempt's Workload starts from zero.
    expect(kueuePreemptions(w, { queue: { workload: 'job-r-0-old', preemptions: 5 } }).added).toBe(2);
  });

  it('keeps the last Workload in status when there is none now', () => {
    expect(kueuePreemptions(undefined, { queue: { workload: 'w', preemptions: 1 } })).toEqual({ queue: { workload: 'w', preemptions: 1 }, added: 0 });
    expect(kueuePreemptions(undefined, undefined)).toEqual({ added: 0 });
  });
});

describe('syncQueuedSuspend: through Kueue, never the Job', () => {
  const deps = () => ({ writer: new FakeWriter(), events: new RecordingEvents() });

  it("deactivates an active Workload, marked as Lathe's, and re-activates only that", async () => {
    const d = deps();
    await syncQueuedSuspend(d, run(true), job(), workload().admitted().obj());
    await syncQueuedSuspend(d, run(false), job(), workload().inactive(true).obj());
    expect(d.writer.writes.map((w) => [w.kind, w.body])).toEqual([
      ['Workload', { metadata: { annotations: { [SUSPENDED_BY_LATHE]: 'true' } }, spec: { active: false } }],
      ['Workload', { metadata: { annotations: { [SUSPENDED_BY_LATHE]: null } }, spec: { active: true } }],
    ]);
    expect(d.events.reasons()).toEqual(['Suspended', 'Resumed']);
  });

  it('leaves alone a Workload someone else deactivated, one already as asked, and a missing one', async () => {
    const d = deps();
    await syncQueuedSuspend(d, run(false), job(), workload().inactive(false).obj());
    await syncQueuedSuspend(d, run(true), job(), workload().inactive(true).obj());
    await syncQueuedSuspend(d, run(false), job(), workload().obj());
    await syncQueuedSuspend(d, run(true), job(), undefined);
    expect(d.writer.writes).toEqual([]);
  });

  it('submits a run created suspended when it resumes, by labelling its Job', async () => {
    const d = deps();
    const unsubmitted = makeJob('r-1').run('r').suspended().obj();
    await syncQueuedSuspend(d, run(true), unsubmitted, undefined);
    expect(d.writer.writes).toEqual([]);
    await syncQueuedSuspend(d, run(false), unsubmitted, undefined);
    expect(d.writer.writes.map((w) => [w.kind, w.body])).toEqual([['Job', { metadata: { labels: { 'kueue.x-k8s.io/queue-name': 'team-a' } } }]]);
  });
});
