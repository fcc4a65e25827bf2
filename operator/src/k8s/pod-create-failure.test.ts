import type { CoreV1Event, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { deploymentCreateFailure, jobCreateFailure } from './pod-create-failure.js';

const SA_MISSING = 'Error creating: pods "r-1-0-abcde" is forbidden: error looking up service account ml/lathe-trainer: serviceaccount "lathe-trainer" not found';

function event(at: string, message = SA_MISSING, over: Partial<CoreV1Event['involvedObject']> = {}): CoreV1Event {
  return {
    metadata: { name: `r-1.${at}`, namespace: 'ml' },
    involvedObject: { kind: 'Job', namespace: 'ml', name: 'r-1', uid: 'job-uid', ...over },
    reason: 'FailedCreate',
    message,
    lastTimestamp: new Date(at),
  };
}

function pod(created: string): V1Pod {
  return { metadata: { name: 'p', creationTimestamp: new Date(created) } };
}

const job = { name: 'r-1', uid: 'job-uid' };

describe('jobCreateFailure', () => {
  it('reads the newest FailedCreate of the Job, says what to do, and drops the controller\'s prefix', () => {
    const quota = 'Error creating: pods "r-1-0-x" is forbidden: exceeded quota: compute, requested: nvidia.com/gpu=1, used: nvidia.com/gpu=4, limited: nvidia.com/gpu=4';
    const f = jobCreateFailure(job, [event('2026-11-22T12:00:00Z'), event('2026-11-22T12:00:05Z', quota)], []);
    expect(f?.reason).toBe('FailedCreate');
    expect(f?.message).toBe(`Job r-1 cannot create pods: ${quota.replace('Error creating: ', '')}; the namespace's ResourceQuota has no room for the pod: raise the quota or wait for other workloads to finish`);
  });

  it('names the missing ServiceAccount and the chart value that creates it', () => {
    const f = jobCreateFailure(job, [event('2026-11-22T12:00:00Z')], []);
    expect(f?.message).toContain('serviceaccount "lathe-trainer" not found');
    expect(f?.message).toContain("the namespace has no ServiceAccount lathe-trainer: add it to the chart's trainingNamespaces");
  });

  it('is history once a pod was created after the failure', () => {
    expect(jobCreateFailure(job, [event('2026-11-22T12:00:00Z')], [pod('2026-11-22T12:00:01Z')])).toBeUndefined();
    expect(jobCreateFailure(job, [event('2026-11-22T12:00:02Z')], [pod('2026-11-22T12:00:01Z')])).toBeDefined();
  });

  it('ignores other Jobs, an earlier Job of the same name, and other reasons', () => {
    expect(jobCreateFailure(job, [event('2026-11-22T12:00:00Z', SA_MISSING, { name: 'r-2' })], [])).toBeUndefined();
    expect(jobCreateFailure(job, [event('2026-11-22T12:00:00Z', SA_MISSING, { uid: 'older-job' })], [])).toBeUndefined();
    expect(jobCreateFailure(job, [{ ...event('2026-11-22T12:00:00Z'), reason: 'SuccessfulCreate' }], [])).toBeUndefined();
  });

  it('has a hint for Pod Security and LimitRange refusals, and a fallback', () => {
    const psa = 'Error creating: pods "r-1-0-x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false';
    expect(jobCreateFailure(job, [event('2026-11-22T12:00:00Z', psa)], [])?.message).toContain("Pod Security admission refused the pod");
    const lr = 'Error creating: pods "r-1-0-x" is forbidden: maximum memory usage per Container is 1Gi, but limit is 16Gi';
    expect(jobCreateFailure(job, [event('2026-11-22T12:00:00Z', lr)], [])?.message).toContain('a LimitRange of the namespace');
    expect(jobCreateFailure(job, [event('2026-11-22T12:00:00Z', 'Error creating: webhook said no')], [])?.message).toBe(
      "Job r-1 cannot create pods: webhook said no; kubectl describe shows the controller's Events",
    );
  });
});

describe('deploymentCreateFailure', () => {
  it('reads the ReplicaFailure condition the Deployment copies from its ReplicaSet', () => {
    const d: V1Deployment = {
      metadata: { name: 'chat' },
      status: { conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "chat-5d-x" is forbidden: error looking up service account ml/lathe-inference: serviceaccount "lathe-inference" not found' }] },
    };
    expect(deploymentCreateFailure(d)?.message).toMatch(/^Deployment chat cannot create pods: pods "chat-5d-x" is forbidden: .*; the namespace has no ServiceAccount lathe-inference: /);
    expect(deploymentCreateFailure({ ...d, status: { conditions: [{ type: 'ReplicaFailure', status: 'False', reason: 'x' }] } })).toBeUndefined();
    expect(deploymentCreateFailure(undefined)).toBeUndefined();
  });
});
