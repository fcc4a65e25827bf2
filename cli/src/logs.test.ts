import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { makeTrainingRun } from '../../test/support/builders.js';
import { pickPod, whyNoPods } from './logs.js';

const pod = (name: string, index: number, created: string): V1Pod => ({
  metadata: { name, creationTimestamp: new Date(created), annotations: { 'batch.kubernetes.io/job-completion-index': String(index) } },
});

describe('logs', () => {
  it('picks the newest pod of the worker asked for', () => {
    const pods = [pod('r-1-0-a', 0, '2026-12-02T10:00:00Z'), pod('r-1-0-b', 0, '2026-12-02T10:05:00Z'), pod('r-1-1-a', 1, '2026-12-02T10:01:00Z')];
    expect(pickPod(pods, 0)?.metadata?.name).toBe('r-1-0-b');
    expect(pickPod(pods, 1)?.metadata?.name).toBe('r-1-1-a');
    expect(pickPod(pods, 2)).toBeUndefined();
  });

  it('says why there are no logs', () => {
    const done = makeTrainingRun('r').status({ phase: 'Succeeded', jobName: 'r-1', artifact: { recordUri: 's3://b/models/r/x/run.json' } }).obj();
    expect(whyNoPods(done, 0).message).toMatch(/is Succeeded and the pods of r-1 are gone/);
    expect(whyNoPods(done, 0).hint).toContain('s3://b/models/r/x/run.json');
    const pending = makeTrainingRun('r').status({ phase: 'Pending', message: '0/4 nodes are available' }).obj();
    expect(whyNoPods(pending, 0).message).toBe('TrainingRun r has no pod yet: it is Pending: 0/4 nodes are available');
    expect(whyNoPods(makeTrainingRun('r').status({ phase: 'Suspended' }).obj(), 0).hint).toMatch(/suspend":false/);
    expect(whyNoPods(makeTrainingRun('r').workers(2).obj(), 2).message).toMatch(/has 2 worker\(s\); there is no worker 2/);
  });
});
