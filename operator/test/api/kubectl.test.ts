// What users see through the real kubectl: printer columns, short names, the `ml` category and
// `kubectl explain` descriptions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURALS, VERSION } from '../../src/api/constants.js';
import { inferenceServiceCrd, trainingRunCrd, type CustomResourceDefinition } from '../../src/api/schema/crd.js';
import { validInferenceService } from './cases.js';
import { clients, kubectl, suffix, waitFor, type Clients } from '../../../test/support/cluster.js';
import { installCrds } from './kube.js';
import { makeTrainingRun } from '../../../test/support/builders.js';

let c: Clients;
const namespace = `lathe-kubectl-${suffix()}`;

beforeAll(async () => {
  c = clients();
  await installCrds(c);
  await c.core.createNamespace({ body: { metadata: { name: namespace } } });
  await waitFor('the new CRD to serve', () =>
    c.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS.TrainingRun, body: makeTrainingRun('smol-llama-stories').everyField().manifest() }),
  );
  await c.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS.InferenceService, body: validInferenceService('story-writer') });
});

afterAll(async () => {
  if (c) await c.core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

// An operator may be running against the same cluster and write its own status; the tests write
// a known status and retry until kubectl shows it.
async function setRunStatus() {
  await c.custom.patchNamespacedCustomObjectStatus({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURALS.TrainingRun,
    name: 'smol-llama-stories',
    body: [{ op: 'add', path: '/status', value: { phase: 'Running', gpus: 2, attempts: 1, progress: { summary: '2/3', loss: 0.41, epoch: 2, epochs: 3 } } }],
  });
}

async function setServiceStatus() {
  await c.custom.patchNamespacedCustomObjectStatus({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURALS.InferenceService,
    name: 'story-writer',
    body: [
      {
        op: 'add',
        path: '/status',
        value: {
          modelUri: 'hf://BEE-spoke-data/smol_llama-101M-GQA',
          url: `http://story-writer.${namespace}.svc.cluster.local`,
          replicas: 2,
          readyReplicas: 1,
          // A canary rollout at its first step: the CANARY column.
          rollout: { phase: 'Running', templateHash: 'abc123', step: 0, canaryWeight: 10, canaryShare: 20 },
          conditions: [{ type: 'Ready', status: 'False', reason: 'ScalingUp', message: '1 of 2 ready', lastTransitionTime: '2026-11-22T15:42:10Z' }],
        },
      },
    ],
  });
}

function get(plural: (typeof PLURALS)[keyof typeof PLURALS], name: string): Promise<Record<string, unknown>> {
  return c.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name }) as Promise<Record<string, unknown>>;
}

/**
 * What kubectl should print in the default columns (Age excluded) for `obj`, evaluated here from
 * the CRD's printer columns. Comparing against the live object keeps the test exact even when an
 * operator running against the same cluster rewrites the status between our write and our read.
 */
function expectedColumns(obj: Record<string, unknown>, crd: CustomResourceDefinition): string[] {
  const columns = crd.spec.versions[0]!.additionalPrinterColumns.filter((col) => !col.priority && col.type !== 'date');
  return columns.map((col) => {
    const cond = /^\.status\.conditions\[\?\(@\.type=="(\w+)"\)\]\.(\w+)$/.exec(col.jsonPath);
    let value: unknown;
    if (cond) {
      const list = ((obj.status as { conditions?: Array<Record<string, unknown>> } | undefined)?.conditions ?? []);
      value = list.find((x) => x.type === cond[1])?.[cond[2]!];
    } else {
      value = col.jsonPath
        .slice(1)
        .split('.')
        .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
    }
    return show(value);
  });
}

/** A value as kubectl prints it in a column. */
function show(value: unknown): string {
  if (value === undefined || value === null) return '<none>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return `${value}`;
  return JSON.stringify(value);
}

function table(out: string): string[][] {
  return out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}

describe('kubectl get', () => {
  it('trainingruns prints NAME MODEL PHASE PROGRESS LOSS GPUS AGE', async () => {
    await setRunStatus();
    const out = await waitFor('kubectl to show it', async () => {
      const obj = await get(PLURALS.TrainingRun, 'smol-llama-stories');
      const text = kubectl(['get', 'trainingruns', '-n', namespace]);
      const [header, row] = table(text);
      expect(header).toEqual(['NAME', 'MODEL', 'PHASE', 'PROGRESS', 'LOSS', 'GPUS', 'AGE']);
      expect(row!.slice(0, 6)).toEqual(['smol-llama-stories', ...expectedColumns(obj, trainingRunCrd())]);
      return text;
    }, 20_000);
    console.log(out);
    const [, row] = table(out);
    expect(row![1]).toBe('hf://BEE-spoke-data/smol_llama-101M-GQA');
    expect(row![6]).toMatch(/^\d+s$/);
  });

  it('-o wide adds TASK, ATTEMPTS, RUN ID and MESSAGE', () => {
    const out = kubectl(['get', 'trun', '-n', namespace, '-o', 'wide']);
    expect(table(out)[0]).toEqual(['NAME', 'MODEL', 'PHASE', 'PROGRESS', 'LOSS', 'GPUS', 'AGE', 'TASK', 'ATTEMPTS', 'RUN ID', 'MESSAGE']);
  });

  it('inferenceservices prints NAME MODEL READY REPLICAS URL CANARY AGE', async () => {
    await setServiceStatus();
    const out = await waitFor('kubectl to show it', async () => {
      const obj = await get(PLURALS.InferenceService, 'story-writer');
      const text = kubectl(['get', 'inferenceservices', '-n', namespace]);
      const [header, row] = table(text);
      expect(header).toEqual(['NAME', 'MODEL', 'READY', 'REPLICAS', 'URL', 'CANARY', 'AGE']);
      expect(row!.slice(0, 6)).toEqual(['story-writer', ...expectedColumns(obj, inferenceServiceCrd())]);
      return text;
    }, 20_000);
    console.log(out);
  });

  it('short names trun and lisvc, and the ml and lathe categories list both kinds', () => {
    expect(kubectl(['get', 'trun', '-n', namespace, '-o', 'name'])).toContain('trainingrun.lathe.dev/smol-llama-stories');
    expect(kubectl(['get', 'lisvc', '-n', namespace, '-o', 'name'])).toContain('inferenceservice.lathe.dev/story-writer');
    for (const category of ['ml', 'lathe']) {
      const out = kubectl(['get', category, '-n', namespace, '-o', 'name']);
      expect(out).toContain('trainingrun.lathe.dev/smol-llama-stories');
      expect(out).toContain('inferenceservice.lathe.dev/story-writer');
    }
  });

  it('kubectl scale works on an InferenceService', () => {
    kubectl(['scale', 'inferenceservice/story-writer', '-n', namespace, '--replicas=3']);
    const out = kubectl(['get', 'lisvc', 'story-writer', '-n', namespace, '-o', 'jsonpath={.spec.replicas.min}']);
    expect(out).toBe('3');
  });
});

describe('kubectl explain', () => {
  it('trainingrun.spec lists the fields with their descriptions', async () => {
    const out = await waitFor('kubectl to show it', () => {
      const text = kubectl(['explain', 'trainingrun.spec']);
      if (!text.includes('maxRuntime')) throw new Error(`not published yet:\n${text}`);
      return text;
    });
    console.log(out);
    expect(out).toContain('What to train and how');
    for (const field of ['model', 'task', 'dataset', 'hyperparameters', 'workers', 'resources', 'spot', 'maxRuntime', 'retries', 'queue', 'ttlAfterFinished', 'suspend', 'nodeSelector', 'tolerations', 'affinity', 'priorityClassName']) {
      expect(out).toMatch(new RegExp(`^\\s+${field}\\s+<`, 'm'));
    }
    expect(out).toContain('hf://<org>/<name>');
    expect(out).toContain('Default: 1');
  });

  it('explains nested fields and the InferenceService', async () => {
    const maxRuntime = await waitFor('kubectl to show it', () => kubectl(['explain', 'trainingrun.spec.maxRuntime']));
    expect(maxRuntime).toContain('activeDeadlineSeconds');
    const model = await waitFor('kubectl to show it', () => kubectl(['explain', 'inferenceservice.spec.model']));
    expect(model).toContain('exactly one of trainingRun or uri');
    const status = await waitFor('kubectl to show it', () => kubectl(['explain', 'trainingrun.status.conditions']));
    expect(status).toContain('kubectl wait');
  });
});
