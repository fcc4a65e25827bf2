// Rules that keep the API server from refusing the pods' Job or Deployment after admission, each
// found by the fuzzer (test/fuzz): a spec that was admitted, then the operator's create or apply of
// its child failed on every pass and the object got no status at all. The zod side is checked here;
// the fuzzer checks the CRDs against the real API server.
import { describe, expect, it } from 'vitest';
import { configWith } from '../../../../test/support/config.js';
import { render } from '../../inferenceservice/render.js';
import { POD_ANNOTATIONS_MAX_BYTES, isLabelKey } from './common.js';
import { InferenceServiceSpecSchema, isOperatorEnv, type InferenceService } from './inferenceservice.js';
import { JOB_CONTROLLER_LABELS, TrainingRunSpecSchema } from './trainingrun.js';

const run = (extra: Record<string, unknown>) => TrainingRunSpecSchema.safeParse({ task: 'image-classification', dataset: { uri: 'builtin:mnist' }, ...extra });
const service = (extra: Record<string, unknown>) => InferenceServiceSpecSchema.safeParse({ model: { uri: 'hf://org/name' }, task: 'text-generation', replicas: { min: 1 }, ...extra });

function messages(r: ReturnType<typeof run>): string {
  return r.success ? '' : r.error.issues.map((i) => i.message).join('\n');
}

const LONGEST_PREFIX = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`; // 253 characters

describe('label keys', () => {
  it('have a prefix of at most 253 characters, as a DNS subdomain', () => {
    expect(isLabelKey(`${LONGEST_PREFIX}/${'n'.repeat(63)}`)).toBe(true);
    expect(isLabelKey(`${LONGEST_PREFIX}.e/n`)).toBe(false); // 255 characters of prefix, 257 in all
    expect(messages(run({ nodeSelector: { [`${LONGEST_PREFIX}.e/n`]: 'x' } }))).toContain('prefix at most 253');
    expect(run({ tolerations: [{ key: `${LONGEST_PREFIX}.e/n`, operator: 'Exists' }] }).success).toBe(false);
    expect(run({ podMetadata: { annotations: { [`${LONGEST_PREFIX}.e/n`]: 'x' } } }).success).toBe(false);
  });
});

describe('pod selectors', () => {
  const nodeTerm = (req: Record<string, unknown>) => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [req] } } });
  const podTerm = (term: Record<string, unknown>) => ({ podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', ...term }] } });

  it('take label values as the values of a requirement', () => {
    expect(run({ affinity: nodeTerm({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['us-east-1a', ''] }] }) }).success).toBe(true);
    expect(messages(run({ affinity: nodeTerm({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['has space'] }] }) }))).toContain('must be label values');
    const selector = { labelSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['ünï'] }] } };
    expect(run({ affinity: podTerm(selector) }).success).toBe(false);
  });

  it('take a non-negative integer for Gt and Lt', () => {
    expect(run({ affinity: nodeTerm({ matchExpressions: [{ key: 'gpu-memory', operator: 'Gt', values: ['20'] }] }) }).success).toBe(true);
    expect(run({ affinity: nodeTerm({ matchExpressions: [{ key: 'gpu-memory', operator: 'Lt', values: ['-1'] }] }) }).success).toBe(false);
  });

  it('take node names in matchFields', () => {
    expect(run({ affinity: nodeTerm({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['gpu-node-1'] }] }) }).success).toBe(true);
    expect(run({ affinity: nodeTerm({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['GPU Node'] }] }) }).success).toBe(false);
  });

  it('take matchLabelKeys and mismatchLabelKeys only with a labelSelector, and never the same key in both', () => {
    expect(run({ affinity: podTerm({ labelSelector: {}, matchLabelKeys: ['app'], mismatchLabelKeys: ['team'] }) }).success).toBe(true);
    expect(messages(run({ affinity: podTerm({ matchLabelKeys: ['app'] }) }))).toContain('matchLabelKeys may be set only with');
    expect(messages(run({ affinity: podTerm({ mismatchLabelKeys: ['app'] }) }))).toContain('mismatchLabelKeys may be set only with');
    expect(messages(run({ affinity: podTerm({ labelSelector: {}, matchLabelKeys: ['app'], mismatchLabelKeys: ['app'] }) }))).toContain('must not repeat a key');
  });
});

describe('pod metadata', () => {
  it("keeps the Job controller's labels off a TrainingRun's pods", () => {
    for (const key of JOB_CONTROLLER_LABELS) expect(messages(run({ podMetadata: { labels: { [key]: 'x' } } })), key).toContain('the Job controller sets them');
    expect(run({ podMetadata: { labels: { 'job-kind': 'x' } } }).success).toBe(true);
    // a Deployment's pods may carry them
    expect(service({ podMetadata: { labels: { 'job-name': 'x' } } }).success).toBe(true);
  });

  it('bounds the annotations as Kubernetes bounds a pod\'s (256 KiB, keys included, in UTF-8 bytes)', () => {
    // 63 values of 4096 characters under 15-byte keys, and a 64th that takes the total to `bytes`
    const annotations = (bytes: number) => {
      const out: Record<string, string> = {};
      for (let i = 0; i < 63; i++) out[`example.com/a${String(i).padStart(2, '0')}`] = 'x'.repeat(4096);
      out['example.com/a63'] = 'x'.repeat(bytes - 64 * 15 - 63 * 4096);
      return out;
    };
    expect(run({ podMetadata: { annotations: annotations(POD_ANNOTATIONS_MAX_BYTES) } }).success).toBe(true);
    expect(messages(run({ podMetadata: { annotations: annotations(POD_ANNOTATIONS_MAX_BYTES + 1) } }))).toContain(`at most ${POD_ANNOTATIONS_MAX_BYTES} bytes`);
    // 64 values of 4096 characters fit every per-value bound; in three-byte characters they are 768 KiB
    const wide = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, '日'.repeat(4096)]));
    expect(service({ podMetadata: { annotations: wide } }).success).toBe(false);
  });
});

describe('InferenceService env', () => {
  it('refuses the names the operator sets in the server container', () => {
    for (const name of ['PORT', 'HF_HOME', 'LATHE_MODEL_URI', 'LATHE_ANYTHING']) {
      expect(service({ runtime: { image: 'busybox', env: [{ name, value: 'x' }] } }).success, name).toBe(false);
    }
    // the S3 endpoint is the one the user may replace (render.ts lets the user's win)
    expect(service({ runtime: { image: 'busybox', env: [{ name: 'AWS_ENDPOINT_URL_S3', value: 'http://minio:9000' }] } }).success).toBe(true);
  });

  it('covers every variable the renderer sets, so no rendered Deployment holds a name twice', () => {
    const isvc: InferenceService = {
      apiVersion: 'lathe.dev/v1alpha1',
      kind: 'InferenceService',
      metadata: { name: 'writer', namespace: 'ml', uid: 'u', generation: 1 },
      spec: { model: { uri: 's3://b/m/' }, task: 'text-generation', replicas: { min: 1 }, runtime: { image: 'busybox', port: 9000 } },
    };
    const config = configWith({ podS3Endpoint: 'http://10.0.0.1:9000', podEnvSecret: 's3-keys' });
    const env = render({ isvc, modelUri: 's3://b/m/', config }).deployment.spec!.template.spec!.containers[0]!.env!;
    const rendered = env.map((e) => e.name).filter((n) => n !== 'AWS_ENDPOINT_URL_S3');
    expect(rendered.length).toBeGreaterThan(3);
    for (const name of rendered) expect(isOperatorEnv(name), `${name} is set by the renderer but admitted in spec.runtime.env`).toBe(true);
  });
});
