// A distributed run's NetworkPolicy: its pods accept traffic only from pods of the same run.
import { describe, expect, it } from 'vitest';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import { configWith } from '../../../test/support/config.js';
import { planRun } from './plan.js';
import { render } from './render.js';

function run(workers: number, name = 'ddp'): TrainingRun {
  return {
    apiVersion: 'lathe.dev/v1alpha1',
    kind: 'TrainingRun',
    metadata: { name, namespace: 'ml', uid: '0b6f3c1e-1111-2222-3333-444455556666', generation: 1, creationTimestamp: new Date('2026-11-22T15:42:10Z') },
    spec: { task: 'image-classification', dataset: { uri: 'builtin:mnist' }, workers },
  };
}
const renderRun = (r: TrainingRun, networkPolicies: boolean) => {
  const config = configWith({ networkPolicies });
  return render({ plan: planRun(r, config.s3Bucket, 1), config, modelUri: '' });
};

describe('renderWorkersNetworkPolicy', () => {
  it('is rendered for a distributed run with LATHE_NETWORK_POLICIES, beside its headless Service', () => {
    const r = renderRun(run(2), true);
    const np = r.networkPolicy!;
    expect(np.metadata).toMatchObject({ name: r.service!.metadata!.name, namespace: 'ml', labels: r.service!.metadata!.labels, ownerReferences: r.service!.metadata!.ownerReferences });
    expect(np.spec).toEqual({
      podSelector: { matchLabels: { 'lathe.dev/training-run': 'ddp' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { 'lathe.dev/training-run': 'ddp' } } }] }],
    });
    // It selects the run's pods, and the rendezvous port they listen on is reachable by them only.
    const pod = r.job.spec!.template;
    expect(pod.metadata!.labels!['lathe.dev/training-run']).toBe('ddp');
    expect(pod.spec!.containers[0]!.ports).toEqual([{ name: 'rendezvous', containerPort: 29500 }]);
  });

  it('is not rendered for a single worker or without the setting', () => {
    expect(renderRun(run(1), true).networkPolicy).toBeUndefined();
    expect(renderRun(run(2), false).networkPolicy).toBeUndefined();
  });
});
