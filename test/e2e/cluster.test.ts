// The foundation every other suite stands on: a cluster with GPU nodes that schedules by GPU
// capacity and taints, runs Jobs to completion, and enforces Pod Security admission.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import scheduling from '../../schemas/scheduling.json' with { type: 'json' };
import { statusCode } from '../../operator/src/client/errors.js';
import { clients, createNamespace, deleteNamespace, waitFor } from '../support/cluster.js';

const { core, batch } = clients();
let ns = '';

beforeAll(async () => {
  ns = await createNamespace(core, 'e2e-cluster');
});
afterAll(async () => {
  if (ns) await deleteNamespace(core, ns);
});

function gpuJob(name: string, gpus: number): V1Job {
  return {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          tolerations: [{ key: scheduling.gpuTaint.key, operator: 'Exists', effect: 'NoSchedule' }],
          containers: [
            {
              name: 'main',
              image: 'busybox:1.36',
              command: ['true'],
              resources: { limits: { [scheduling.gpuResource]: String(gpus) } },
            },
          ],
        },
      },
    },
  };
}

describe('local control plane', () => {
  it('has GPU nodes advertising nvidia.com/gpu, tainted like EKS GPU nodes', async () => {
    const nodes = (await core.listNode()).items;
    const gpuNodes = nodes.filter((n) => Number(n.status?.allocatable?.[scheduling.gpuResource] ?? 0) > 0);
    expect(gpuNodes.length).toBeGreaterThanOrEqual(1);
    for (const node of gpuNodes) {
      expect(node.spec?.taints ?? []).toContainEqual(expect.objectContaining(scheduling.gpuTaint));
      expect(node.metadata?.labels?.[scheduling.gpuProductLabel]).toBeTruthy();
    }
    // A node without GPUs exists for the operator and other system pods.
    expect(nodes.some((n) => !n.status?.allocatable?.[scheduling.gpuResource])).toBe(true);
  });

  it('has a spot GPU node, labelled and tainted as spot', async () => {
    const nodes = (await core.listNode()).items;
    const spot = nodes.filter((n) => n.metadata?.labels?.[scheduling.capacityTypeLabel] === scheduling.spotCapacityType);
    expect(spot.length).toBeGreaterThanOrEqual(1);
    for (const node of spot) {
      expect(node.spec?.taints ?? []).toContainEqual(expect.objectContaining(scheduling.spotTaint));
      expect(Number(node.status?.allocatable?.[scheduling.gpuResource] ?? 0)).toBeGreaterThan(0);
    }
  });

  it('runs a Job asking for one GPU to completion', async () => {
    await batch.createNamespacedJob({ namespace: ns, body: gpuJob('one-gpu', 1) });
    const job = await waitFor('Job one-gpu to succeed', async () => {
      const j = await batch.readNamespacedJob({ name: 'one-gpu', namespace: ns });
      return (j.status?.succeeded ?? 0) >= 1 ? j : undefined;
    }, 90_000);
    expect(job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')).toBe(true);
    const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=one-gpu' })).items;
    expect(pods).toHaveLength(1);
    const node = await core.readNode({ name: pods[0]!.spec!.nodeName! });
    expect(Number(node.status?.allocatable?.[scheduling.gpuResource] ?? 0)).toBeGreaterThanOrEqual(1);
  });

  it('keeps a Job asking for more GPUs than any node has Pending, as unschedulable', async () => {
    const nodes = (await core.listNode()).items;
    const most = Math.max(...nodes.map((n) => Number(n.status?.allocatable?.[scheduling.gpuResource] ?? 0)));
    await batch.createNamespacedJob({ namespace: ns, body: gpuJob('too-many-gpus', most + 1) });
    const pod = await waitFor<V1Pod>('the pod to be marked unschedulable', async () => {
      const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=too-many-gpus' })).items;
      return pods.find((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'));
    }, 60_000);
    expect(pod.status?.phase).toBe('Pending');
    const message = pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message ?? '';
    expect(message).toContain(`Insufficient ${scheduling.gpuResource}`);
  });

  it('rejects a pod that violates the restricted Pod Security level where it is enforced', async () => {
    const restricted = await createNamespace(core, 'e2e-restricted', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    try {
      const bad: V1Pod = {
        metadata: { name: 'privileged' },
        spec: { containers: [{ name: 'main', image: 'busybox:1.36', securityContext: { allowPrivilegeEscalation: true } }] },
      };
      const err = await core.createNamespacedPod({ namespace: restricted, body: bad }).then(() => undefined, (e: unknown) => e);
      expect(statusCode(err)).toBe(403);
      const status = JSON.parse(String((err as { body?: unknown }).body)) as { message: string };
      expect(status.message).toMatch(/violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);

      // The same pod, made compliant, is admitted: the rejection was about the profile, not the pod.
      const good: V1Pod = {
        metadata: { name: 'compliant' },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'main',
            image: 'busybox:1.36',
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          }],
        },
      };
      await expect(core.createNamespacedPod({ namespace: restricted, body: good })).resolves.toBeTruthy();
    } finally {
      await deleteNamespace(core, restricted);
    }
  });
});
