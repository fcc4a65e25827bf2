// Admission against the real API server: the generated CRDs install, valid objects are accepted,
// malformed ones are rejected with a message naming the field, the spec of a TrainingRun is
// immutable except `suspend`, and the status and scale subresources work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURALS, VERSION } from '../../src/api/constants.js';
import { DURATION_EXAMPLES } from '../../src/api/duration.js';
import { BAD_INFERENCE_SERVICES, BAD_TRAINING_RUNS, HTTP_ROUTE_EXPOSE, applyCase, validInferenceService, type BadCase, type Obj } from './cases.js';
import { statusCode } from '../../src/client/errors.js';
import { clients, suffix, waitFor, type Clients } from '../../../test/support/cluster.js';
import { installCrds, rejection } from './kube.js';
import { makeTrainingRun } from '../../../test/support/builders.js';

let c: Clients;
const namespace = `lathe-api-${suffix()}`;

type Plural = (typeof PLURALS)[keyof typeof PLURALS];

function create(plural: Plural, body: Obj, opts: { dryRun?: boolean } = {}) {
  return c.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural,
    body,
    fieldValidation: 'Strict',
    ...(opts.dryRun ? { dryRun: 'All' } : {}),
  });
}

function get(plural: Plural, name: string): Promise<Obj> {
  return c.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name }) as Promise<Obj>;
}

type PatchOp = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown };

function patch(plural: Plural, name: string, ops: PatchOp[]) {
  return c.custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name, body: ops });
}

function patchStatus(plural: Plural, name: string, status: unknown) {
  return c.custom.patchNamespacedCustomObjectStatus({
    group: GROUP,
    version: VERSION,
    namespace,
    plural,
    name,
    body: [{ op: 'add', path: '/status', value: status }],
  });
}

async function expectRejected(plural: Plural, body: Obj, bad: BadCase) {
  const { code, message } = await rejection(create(plural, body));
  // unknown fields fail strict decoding (400); everything else is a schema or CEL error (422)
  expect(bad.strict ? [400, 422] : [422], message).toContain(code);
  expect(message).toContain(bad.field);
  return message;
}

beforeAll(async () => {
  c = clients();
  await installCrds(c);
  await c.core.createNamespace({ body: { metadata: { name: namespace, labels: { 'lathe.dev/test': 'api' } } } });
  // a freshly Established CRD may still answer 404 for a moment
  await waitFor('the new CRD to serve', async () => {
    await create(PLURALS.TrainingRun, makeTrainingRun('probe').everyField().manifest(), { dryRun: true });
    return true;
  }, 20_000);
});

afterAll(async () => {
  if (c) await c.core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('TrainingRun admission', () => {
  it('accepts a complete valid run, and minimal ones', async () => {
    await create(PLURALS.TrainingRun, makeTrainingRun('smol-llama-stories').everyField().manifest());
    const stored = await get(PLURALS.TrainingRun, 'smol-llama-stories');
    expect(stored.spec).toEqual(makeTrainingRun('smol-llama-stories').everyField().manifest().spec); // nothing pruned, nothing defaulted
    await create(PLURALS.TrainingRun, {
      ...makeTrainingRun('mnist').everyField().manifest(),
      spec: { task: 'image-classification', dataset: { uri: 'builtin:mnist' } },
    });
    await create(PLURALS.TrainingRun, {
      ...makeTrainingRun('custom-run').everyField().manifest(),
      spec: {
        task: 'custom',
        model: 'run://smol-llama-stories',
        dataset: { uri: 'hf://roneneldan/TinyStories' },
        image: 'registry.example.com/team/trainer:1.2.3',
        command: ['python', '-m', 'train', '--fast'],
        resources: { cpu: 2, memory: '512Mi' },
      },
    });
  });

  it(`rejects ${BAD_TRAINING_RUNS.length} kinds of malformed runs, each naming the field`, async () => {
    expect(BAD_TRAINING_RUNS.length).toBeGreaterThanOrEqual(20);
    const failures: string[] = [];
    for (const [i, bad] of BAD_TRAINING_RUNS.entries()) {
      try {
        const message = await expectRejected(PLURALS.TrainingRun, applyCase(makeTrainingRun(`bad-${i}`).everyField().manifest(), bad), bad);
        console.log(`  ${bad.name}: ${message}`);
      } catch (err) {
        failures.push(`${bad.name}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('agrees with duration.ts on the shared table of durations', async () => {
    for (const [text] of DURATION_EXAMPLES.valid) {
      await create(PLURALS.TrainingRun, { ...makeTrainingRun('duration-ok').everyField().manifest(), spec: { ...makeTrainingRun('smol-llama-stories').everyField().manifest().spec, maxRuntime: text } }, { dryRun: true });
    }
    for (const text of DURATION_EXAMPLES.invalid) {
      const { code, message } = await rejection(
        create(PLURALS.TrainingRun, { ...makeTrainingRun('duration-bad').everyField().manifest(), spec: { ...makeTrainingRun('smol-llama-stories').everyField().manifest().spec, maxRuntime: text } }, { dryRun: true }),
      );
      expect(code, `${JSON.stringify(text)}: ${message}`).toBe(422);
      expect(message).toContain('spec.maxRuntime');
    }
  });
});

describe('TrainingRun immutability', () => {
  it('rejects a change of spec.model, naming the field', async () => {
    const { code, message } = await rejection(patch(PLURALS.TrainingRun, 'smol-llama-stories', [{ op: 'replace', path: '/spec/model', value: 'hf://org/other' }]));
    expect(code).toBe(422);
    expect(message).toContain('spec.model is immutable');
  });

  it.each([
    ['spec.workers', [{ op: 'replace', path: '/spec/workers', value: 4 }]],
    ['spec.hyperparameters', [{ op: 'replace', path: '/spec/hyperparameters/epochs', value: 9 }]],
    ['spec.resources', [{ op: 'replace', path: '/spec/resources/gpus', value: 2 }]],
    ['spec.dataset', [{ op: 'replace', path: '/spec/dataset/uri', value: 'builtin:mnist' }]],
    ['spec.task', [{ op: 'replace', path: '/spec/task', value: 'image-classification' }]],
    ['spec.podMetadata', [{ op: 'add', path: '/spec/podMetadata/labels/extra', value: 'x' }]],
    ['spec.hyperparameters', [{ op: 'remove', path: '/spec/hyperparameters' }]],
    ['spec.maxRuntime', [{ op: 'remove', path: '/spec/maxRuntime' }]],
    // The pods' scheduling fields are immutable like the Job's pod template they end up in.
    ['spec.tolerations', [{ op: 'add', path: '/spec/tolerations/-', value: { key: 'example.com/extra', operator: 'Exists' } }]],
    ['spec.nodeSelector', [{ op: 'remove', path: '/spec/nodeSelector' }]],
    ['spec.affinity', [{ op: 'replace', path: '/spec/affinity/nodeAffinity/preferredDuringSchedulingIgnoredDuringExecution/0/weight', value: 60 }]],
    ['spec.priorityClassName', [{ op: 'replace', path: '/spec/priorityClassName', value: 'ml-urgent' }]],
  ] as Array<[string, PatchOp[]]>)('rejects a change of %s', async (field, ops) => {
    const { code, message } = await rejection(patch(PLURALS.TrainingRun, 'smol-llama-stories', ops));
    expect(code).toBe(422);
    expect(message).toContain(`${field} is immutable`);
  });

  it('rejects adding an optional field after creation', async () => {
    const { code, message } = await rejection(patch(PLURALS.TrainingRun, 'mnist', [{ op: 'add', path: '/spec/queue', value: 'team-a' }]));
    expect(code).toBe(422);
    expect(message).toContain('spec.queue is immutable');
  });

  it('allows changing suspend (and adding it)', async () => {
    await patch(PLURALS.TrainingRun, 'smol-llama-stories', [{ op: 'replace', path: '/spec/suspend', value: false }]);
    expect((await get(PLURALS.TrainingRun, 'smol-llama-stories')).spec.suspend).toBe(false);
    await patch(PLURALS.TrainingRun, 'mnist', [{ op: 'add', path: '/spec/suspend', value: true }]);
    expect((await get(PLURALS.TrainingRun, 'mnist')).spec.suspend).toBe(true);
  });

  it('accepts a status through the status subresource only', async () => {
    await patchStatus(PLURALS.TrainingRun, 'smol-llama-stories', {
      phase: 'Running',
      runId: '20261122-154210-a1b2c3',
      observedGeneration: 2,
      gpus: 2,
      attempts: 1,
      progress: { epoch: 2, epochs: 3, step: 150, totalSteps: 300, loss: 0.41, summary: '2/3', updatedAt: '2026-11-22T16:02:10Z' },
      conditions: [
        { type: 'Ready', status: 'False', reason: 'Running', message: 'training', lastTransitionTime: '2026-11-22T15:42:10Z', observedGeneration: 2 },
        { type: 'Reconciling', status: 'True', reason: 'Running', message: '', lastTransitionTime: '2026-11-22T15:42:10Z' },
      ],
    });
    const stored = await get(PLURALS.TrainingRun, 'smol-llama-stories');
    expect((stored.status as { runId: string }).runId).toBe('20261122-154210-a1b2c3');
    // a status written through the main resource is ignored (an operator may be running against
    // this cluster and write its own status meanwhile, so look only at our value)
    const updated = (await patch(PLURALS.TrainingRun, 'smol-llama-stories', [{ op: 'replace', path: '/status/phase', value: 'Failed' }])) as Obj;
    expect((updated.status as { phase?: string } | undefined)?.phase).not.toBe('Failed');
    // and a malformed status is rejected
    const { code, message } = await rejection(patchStatus(PLURALS.TrainingRun, 'smol-llama-stories', { phase: 'Exploded' }));
    expect(code).toBe(422);
    expect(message).toContain('status.phase');
  });
});

describe('InferenceService admission', () => {
  it('accepts valid services', async () => {
    await create(PLURALS.InferenceService, validInferenceService('story-writer'));
    expect((await get(PLURALS.InferenceService, 'story-writer')).spec).toEqual(validInferenceService().spec);
    await create(PLURALS.InferenceService, {
      ...validInferenceService('from-run'),
      spec: { model: { trainingRun: 'smol-llama-stories' }, task: 'text-to-image', replicas: { min: 1 } },
    });
    // spec.expose as an HTTPRoute, and a bare Ingress (every field defaulted).
    const routed = { ...validInferenceService('routed'), spec: { ...validInferenceService().spec, expose: HTTP_ROUTE_EXPOSE } };
    await create(PLURALS.InferenceService, routed);
    expect((await get(PLURALS.InferenceService, 'routed')).spec).toEqual(routed.spec);
    await create(PLURALS.InferenceService, { ...validInferenceService('bare-ingress'), spec: { ...validInferenceService().spec, expose: { ingress: {} } } });
  });

  it(`rejects ${BAD_INFERENCE_SERVICES.length} kinds of malformed services, each naming the field`, async () => {
    expect(BAD_INFERENCE_SERVICES.length).toBeGreaterThanOrEqual(10);
    const failures: string[] = [];
    for (const [i, bad] of BAD_INFERENCE_SERVICES.entries()) {
      try {
        const message = await expectRejected(PLURALS.InferenceService, applyCase(validInferenceService(`bad-${i}`), bad), bad);
        console.log(`  ${bad.name}: ${message}`);
      } catch (err) {
        failures.push(`${bad.name}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('lets the spec change (a new model rolls out, so do new scheduling fields)', async () => {
    await patch(PLURALS.InferenceService, 'story-writer', [{ op: 'replace', path: '/spec/model', value: { uri: 's3://lathe-artifacts/models/x/20261122-154210-a1b2c3/checkpoint/' } }]);
    await patch(PLURALS.InferenceService, 'story-writer', [
      { op: 'replace', path: '/spec/nodeSelector', value: { 'lathe.dev/node-pool': 'gpu-large' } },
      { op: 'add', path: '/spec/tolerations/-', value: { key: 'example.com/dedicated', operator: 'Equal', value: 'serving', effect: 'NoSchedule' } },
      { op: 'remove', path: '/spec/priorityClassName' },
    ]);
    const changed = (await get(PLURALS.InferenceService, 'story-writer')).spec;
    expect(changed.nodeSelector).toEqual({ 'lathe.dev/node-pool': 'gpu-large' });
    expect(changed.tolerations).toHaveLength(2);
    expect(changed).not.toHaveProperty('priorityClassName');
    const { code, message } = await rejection(
      patch(PLURALS.InferenceService, 'story-writer', [{ op: 'replace', path: '/spec/replicas', value: { min: 5, max: 2 } }]),
    );
    expect(code).toBe(422);
    expect(message).toContain('spec.replicas.max');
  });

  it('has a scale subresource on spec.replicas.min', async () => {
    await patchStatus(PLURALS.InferenceService, 'from-run', { replicas: 1, readyReplicas: 1, selector: 'lathe.dev/inferenceservice=from-run' });
    const scale = await c.custom.getNamespacedCustomObjectScale({ group: GROUP, version: VERSION, namespace, plural: PLURALS.InferenceService, name: 'from-run' });
    // spec.replicas of the Scale is spec.replicas.min; its status comes from status.replicas and
    // status.selector (an operator running against this cluster may have written its own values)
    expect(scale).toMatchObject({ kind: 'Scale', spec: { replicas: 1 } });
    expect(typeof (scale.status as { replicas?: unknown } | undefined)?.replicas).toBe('number');
    await c.custom.patchNamespacedCustomObjectScale({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURALS.InferenceService,
      name: 'from-run',
      body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
    });
    expect((await get(PLURALS.InferenceService, 'from-run')).spec.replicas).toEqual({ min: 3 });
  });
});

describe('errors', () => {
  it('404 for a missing object (sanity check of the helpers)', async () => {
    const { code } = await rejection(get(PLURALS.TrainingRun, 'does-not-exist'));
    expect(code).toBe(404);
    expect(statusCode(new Error('x'))).toBeUndefined();
  });
});
