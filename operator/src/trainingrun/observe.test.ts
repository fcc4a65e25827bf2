import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { makeTrainingRun } from '../../../test/support/builders.js';
import { desiredStatus, phaseOf, type Observation } from './observe.js';

const now = new Date('2026-11-22T12:00:00Z');

function job(status: V1Job['status'] = {}, suspend = false): V1Job {
  return { metadata: { name: 'r-1' }, spec: { suspend, template: {} }, status };
}

function pod(phase: string, extra: Partial<V1Pod['status']> = {}): V1Pod {
  return { metadata: { name: `p-${phase}`, uid: phase, creationTimestamp: now }, status: { phase, ...extra } };
}

function obs(o: Partial<Observation>): Observation {
  return { run: makeTrainingRun('r').generation(3).obj(), job: job(), pods: [], attempt: 1, jobName: 'r-1', gpus: 1, preemptions: 0, now, ...o };
}

describe('phaseOf', () => {
  it('is Pending with the scheduler\'s words when no node fits', () => {
    const p = pod('Pending', { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/4 nodes are available: 4 Insufficient nvidia.com/gpu.' }] });
    expect(phaseOf(obs({ pods: [p] }))).toEqual({ phase: 'Pending', reason: 'Unschedulable', message: '0/4 nodes are available: 4 Insufficient nvidia.com/gpu.' });
  });

  it('reports image pull trouble while pending', () => {
    const p = pod('Pending', { containerStatuses: [{ name: 'trainer', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'back-off pulling image "x"' } } }] });
    expect(phaseOf(obs({ pods: [p] }))).toMatchObject({ phase: 'Pending', reason: 'ImagePullBackOff' });
  });

  it('is Running while a pod runs, and stays Running when pods finish before the Job notices', () => {
    expect(phaseOf(obs({ pods: [pod('Running')] })).phase).toBe('Running');
    expect(phaseOf(obs({ pods: [pod('Succeeded')] })).phase).toBe('Running');
    // A replacement pod after a preemption is not a new start.
    expect(phaseOf(obs({ pods: [pod('Pending')], started: true })).phase).toBe('Running');
    expect(phaseOf(obs({ pods: [pod('Pending')] })).phase).toBe('Pending');
  });

  it('is Succeeded only once the artifact is recorded', () => {
    const complete = job({ conditions: [{ type: 'Complete', status: 'True' }] });
    expect(phaseOf(obs({ job: complete })).phase).toBe('Running');
    expect(phaseOf(obs({ job: complete, artifact: { problem: { reason: 'S3Unavailable', message: 'down' } } }))).toMatchObject({ phase: 'Running', reason: 'S3Unavailable' });
    expect(phaseOf(obs({ job: complete, artifact: { recorded: { uri: 's3://b/m/checkpoint/', metadataUri: 'm', recordUri: 'r' } } })).phase).toBe('Succeeded');
    // A metadata.json that never appears ends the run instead of leaving it Running forever.
    expect(phaseOf(obs({ job: complete, artifact: { problem: { reason: 'MetadataMissing', message: 'no metadata.json' }, final: true } }))).toEqual({
      phase: 'Failed',
      reason: 'MetadataMissing',
      message: 'no metadata.json',
    });
  });

  it('is Failed with the Job\'s reason and the trainer\'s own error line', () => {
    const failed = job({ conditions: [{ type: 'Failed', status: 'True', reason: 'PodFailurePolicy' }] });
    const p = pod('Failed', { containerStatuses: [{ name: 'trainer', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 2, message: 'traceback...\nlathe-trainer: error: bad dataset\n' } } }] });
    expect(phaseOf(obs({ job: failed, pods: [p] }))).toEqual({
      phase: 'Failed',
      reason: 'PodFailurePolicy',
      message: 'the trainer rejected its input (exit code 2): lathe-trainer: error: bad dataset',
    });
    expect(phaseOf(obs({ job: job({ conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }] }) })).message).toBe('the run exceeded spec.maxRuntime');
  });

  it('tells Queued (Kueue) from Suspended (the user)', () => {
    expect(phaseOf(obs({ run: makeTrainingRun('r').generation(3).queue('team-a').obj(), job: job({}, true) })).phase).toBe('Queued');
    expect(phaseOf(obs({ run: makeTrainingRun('r').generation(3).suspend().obj(), job: job({}, true) })).phase).toBe('Suspended');
  });

  it('says a Job cannot create pods, before any pod-based reason, and stays Running once started', () => {
    const createFailure = { reason: 'FailedCreate' as const, message: 'Job r-1 cannot create pods: no ServiceAccount' };
    expect(phaseOf(obs({ createFailure }))).toEqual({ phase: 'Pending', ...createFailure });
    expect(phaseOf(obs({ createFailure, pods: [pod('Running')] }))).toEqual({ phase: 'Running', ...createFailure });
    expect(phaseOf(obs({ createFailure, started: true }))).toMatchObject({ phase: 'Running', reason: 'FailedCreate' });
  });

  it('waits for a referenced model before anything else', () => {
    expect(phaseOf(obs({ job: undefined, waitingFor: { reason: 'WaitingForModel', message: 'waiting' } }))).toMatchObject({ phase: 'Pending', reason: 'WaitingForModel' });
  });
});

describe('desiredStatus', () => {
  it('sets kstatus conditions with observedGeneration and keeps transition times while nothing flips', () => {
    const first = desiredStatus(obs({ pods: [pod('Running')] }), undefined);
    expect(first.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Ready', status: 'False', reason: 'Training', observedGeneration: 3 }),
        expect.objectContaining({ type: 'Reconciling', status: 'True' }),
        expect.objectContaining({ type: 'Stalled', status: 'False' }),
      ]),
    );
    expect(first.conditions!.some((c) => c.type === 'Succeeded')).toBe(false);
    expect(first.observedGeneration).toBe(3);

    const later = new Date(now.getTime() + 60_000);
    const again = desiredStatus(obs({ pods: [pod('Running')], now: later }), first);
    expect(again.conditions).toEqual(first.conditions);

    const done = desiredStatus(
      obs({ job: job({ conditions: [{ type: 'Complete', status: 'True' }], completionTime: later }), artifact: { recorded: { uri: 'u', metadataUri: 'm', recordUri: 'r' } }, now: later }),
      first,
    );
    const ready = done.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'True', lastTransitionTime: '2026-11-22T12:01:00Z' });
    expect(done.conditions!.find((c) => c.type === 'Succeeded')).toMatchObject({ status: 'True' });
    expect(done.completionTime).toBe('2026-11-22T12:01:00.000Z');
    expect(done.artifact).toEqual({ uri: 'u', metadataUri: 'm', recordUri: 'r' });
  });

  it('is at rest while suspended, and stalled (not reconciling) while pods cannot be created', () => {
    const cond = (st: ReturnType<typeof desiredStatus>, type: string) => st.conditions!.find((c) => c.type === type)?.status;
    const suspended = desiredStatus(obs({ run: makeTrainingRun('r').generation(3).suspend().obj(), job: job({}, true) }), undefined);
    expect([suspended.phase, cond(suspended, 'Reconciling'), cond(suspended, 'Stalled'), cond(suspended, 'Suspended')]).toEqual(['Suspended', 'False', 'False', 'True']);
    // Queued waits on Kueue: still in progress.
    const queued = desiredStatus(obs({ run: makeTrainingRun('r').generation(3).queue('team-a').obj(), job: job({}, true) }), undefined);
    expect(cond(queued, 'Reconciling')).toBe('True');
    const blocked = desiredStatus(obs({ createFailure: { reason: 'FailedCreate', message: 'Job r-1 cannot create pods: quota' } }), undefined);
    expect([blocked.phase, cond(blocked, 'Reconciling'), cond(blocked, 'Stalled'), cond(blocked, 'Ready')]).toEqual(['Pending', 'False', 'True', 'False']);
    expect(blocked.message).toBe('Job r-1 cannot create pods: quota');
  });
});
