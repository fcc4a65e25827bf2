import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { slimCustomResource, slimJob, slimPod } from './slim.js';

describe('slim cache transforms', () => {
  it('keep what the reconcilers read of a Job and drop its pod template', () => {
    const job: V1Job = {
      metadata: { name: 'r-1', namespace: 'ml', uid: 'u', labels: { a: 'b' }, managedFields: [{ manager: 'x' }], creationTimestamp: new Date(0) },
      spec: { suspend: true, template: { spec: { containers: [{ name: 'trainer', image: 'i', env: [{ name: 'X', value: 'y'.repeat(1000) }] }] } } },
      status: { failed: 1, conditions: [{ type: 'Complete', status: 'True' }] },
    };
    const slim = slimJob(job);
    expect(slim).toEqual({
      apiVersion: undefined,
      kind: undefined,
      metadata: { name: 'r-1', namespace: 'ml', uid: 'u', labels: { a: 'b' }, creationTimestamp: new Date(0), resourceVersion: undefined, generation: undefined },
      spec: { suspend: true, template: {} },
      status: job.status,
    });
    expect(JSON.stringify(slim).length).toBeLessThan(JSON.stringify(job).length / 4);
    // The informer applies transforms page by page and again on relists: they must be idempotent.
    expect(slimJob(slim)).toEqual(slim);
  });

  it('keep a pod\'s phase, conditions and container states', () => {
    const pod: V1Pod = {
      metadata: { name: 'p', uid: 'u', labels: { 'job-name': 'r-1' }, deletionTimestamp: new Date(1) },
      spec: { containers: [{ name: 'trainer', image: 'i' }] },
      status: {
        phase: 'Failed',
        conditions: [{ type: 'DisruptionTarget', status: 'True' }],
        containerStatuses: [{ name: 'trainer', image: 'i', imageID: 'sha', ready: false, restartCount: 0, state: { terminated: { exitCode: 143, message: 'm' } } }],
      },
    };
    const slim = slimPod(pod);
    expect(slim.spec).toBeUndefined();
    expect(slim.metadata).toMatchObject({ name: 'p', uid: 'u', labels: { 'job-name': 'r-1' }, deletionTimestamp: new Date(1) });
    expect(slim.status).toMatchObject({ phase: 'Failed', conditions: pod.status!.conditions });
    expect(slim.status!.containerStatuses![0]!.state).toEqual({ terminated: { exitCode: 143, message: 'm' } });
    expect(slimPod(slim)).toEqual(slim);
  });

  it('drop managedFields and kubectl\'s last-applied copy from custom resources', () => {
    const obj = { apiVersion: 'lathe.dev/v1alpha1', kind: 'TrainingRun', metadata: { name: 'r', managedFields: [{}], annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{...}', keep: 'me' } }, spec: { task: 'custom' } };
    expect(slimCustomResource(obj)).toEqual({ apiVersion: 'lathe.dev/v1alpha1', kind: 'TrainingRun', metadata: { name: 'r', annotations: { keep: 'me' } }, spec: { task: 'custom' } });
  });
});
