// What the real-pods suite needs beyond the e2e suite's helpers: the real node, the images built by
// `make images`, a namespace that enforces Pod Security "restricted" with the S3 keys the local
// pods use, and the tiny model and dataset seeded in S3 (no weights can be downloaded here).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { createNamespace, repoRoot } from '../e2e/support.js';

/** hack/node.sh's node: its label and taint, which only pods that ask for it tolerate. */
export const REAL_NODE = 'lathe-node';
export const ON_REAL_NODE = {
  nodeSelector: { 'lathe.dev/node-pool': 'local' },
  tolerations: [{ key: 'lathe.dev/real-node', operator: 'Exists', effect: 'NoSchedule' }],
};

/** The names hack/images.sh load gives the images in the node's containerd. */
export function imageRef(image: 'operator' | 'trainer' | 'inference'): string {
  return execFileSync(path.join(repoRoot, 'hack/images.sh'), ['ref', image], { encoding: 'utf8' }).trim();
}

/** Fails (never skips) when the node is not there: this suite exists to run real pods. */
export async function requireRealNode(core: CoreV1Api): Promise<void> {
  let ready = false;
  try {
    const node = await core.readNode({ name: REAL_NODE });
    ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  } catch {
    // absent
  }
  if (!ready) throw new Error(`node ${REAL_NODE} is not Ready: this suite needs the real node (make cluster on a machine where \`hack/node.sh check\` says it is available, then make images)`);
}

/** The Secret the operator's LATHE_POD_ENV_SECRET names: the local S3 server's keys (never on EKS). */
export const S3_SECRET = process.env.LATHE_POD_ENV_SECRET ?? 'lathe-s3-credentials';

/**
 * A namespace enforcing "restricted", with the local S3 keys and the workload ServiceAccounts (as
 * the Helm chart creates them; pass [] where the chart itself will).
 */
export async function restrictedNamespace(core: CoreV1Api, prefix: string, serviceAccounts = ['lathe-trainer', 'lathe-inference']): Promise<string> {
  const labels = {
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
  };
  const ns = await createNamespace(core, prefix, labels, serviceAccounts);
  const env = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set: run the suite with .cluster/s3.env exported (make test-real)`);
    return v;
  };
  await core.createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: { name: S3_SECRET },
      stringData: {
        AWS_ACCESS_KEY_ID: env('AWS_ACCESS_KEY_ID'),
        AWS_SECRET_ACCESS_KEY: env('AWS_SECRET_ACCESS_KEY'),
        AWS_REGION: env('AWS_REGION'),
      },
    },
  });
  return ns;
}

export interface Seed {
  model: string;
  dataset: string;
}

/** Builds the tiny LM and its dataset (hack/seed-tiny-lm.py) under s3://lathe-datasets/<prefix>/. */
export function seedTinyModel(prefix: string): Seed {
  const venv = execFileSync(path.join(repoRoot, 'hack/python-env.sh'), { encoding: 'utf8' }).trim();
  const out = execFileSync(path.join(venv, 'bin/python'), [path.join(repoRoot, 'hack/seed-tiny-lm.py'), prefix], { encoding: 'utf8' });
  return JSON.parse(out) as Seed;
}

/** The one-line state of a pod, for failure messages. */
export function describePod(pod: V1Pod): string {
  const cs = pod.status?.containerStatuses?.[0];
  const state = cs?.state?.waiting ?? cs?.state?.terminated ?? cs?.state?.running;
  return `${pod.metadata?.name} on ${pod.spec?.nodeName ?? '-'}: ${pod.status?.phase} ${JSON.stringify(state ?? {})}`;
}
