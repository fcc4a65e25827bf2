// LATHE_WATCH_NAMESPACES (README, operator settings): an operator given one namespace acts on the
// TrainingRuns and InferenceServices of that namespace only. The operator runs as a process under
// the chart's RBAC, its informers scoped to the one namespace; a run and a service in a second
// namespace, created first, are left untouched: no Job, no Deployment, no status.
import { AppsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTrainingRun } from '../support/builders.js';
import { clients, createNamespace, deleteNamespace, ensureCrds, sleep, waitFor } from '../support/cluster.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { statusCode } from '../../operator/src/client/errors.js';

const { kc, core, batch } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const apps = kc.makeApiClient(AppsV1Api);
const api = { group: 'lathe.dev', version: 'v1alpha1' };
const external = process.env.LATHE_E2E_OPERATOR === 'external';
let watched = '';
let other = '';
let operator: OperatorProcess | undefined;

const run = (name: string) =>
  makeTrainingRun(name).resources({ cpu: '100m', memory: '256Mi' }).podAnnotations({ 'sim.lathe.dev/hold': 'true' }).manifest();
const service = (name: string) => ({
  apiVersion: 'lathe.dev/v1alpha1',
  kind: 'InferenceService',
  metadata: { name },
  spec: { task: 'text-generation', model: { uri: 's3://lathe-artifacts/models/good/v1/checkpoint/' }, replicas: { min: 1 }, resources: { cpu: '100m', memory: '256Mi' } },
});

async function status(plural: string, namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
  return ((await custom.getNamespacedCustomObject({ ...api, namespace, plural, name })) as { status?: Record<string, unknown> }).status;
}

const absent = (read: Promise<unknown>) => read.then(() => false, (err: unknown) => {
  if (statusCode(err) === 404) return true;
  throw err;
});

beforeAll(async () => {
  if (external) return;
  ensureCrds();
  watched = await createNamespace(core, 'e2e-watched', {}, ['lathe-trainer', 'lathe-inference']);
  other = await createNamespace(core, 'e2e-unwatched', {}, ['lathe-trainer', 'lathe-inference']);
  operator = await startOperator({ env: { LATHE_WATCH_NAMESPACES: watched } });
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  for (const ns of [watched, other]) if (ns) await deleteNamespace(core, ns);
});

// An installed operator (LATHE_E2E_OPERATOR=external) watches what its chart values say, not this.
describe.skipIf(external)('an operator with LATHE_WATCH_NAMESPACES', () => {
  it('reconciles runs and services of its namespace, and ignores those of another', async () => {
    // The unwatched namespace's objects come first, so by the time the watched ones are done the
    // operator has had every chance to act on them.
    await custom.createNamespacedCustomObject({ ...api, namespace: other, plural: 'trainingruns', body: run('elsewhere') });
    await custom.createNamespacedCustomObject({ ...api, namespace: other, plural: 'inferenceservices', body: service('elsewhere') });
    await custom.createNamespacedCustomObject({ ...api, namespace: watched, plural: 'trainingruns', body: run('here') });
    await custom.createNamespacedCustomObject({ ...api, namespace: watched, plural: 'inferenceservices', body: service('here') });

    await waitFor('the watched run\'s Job', () => batch.readNamespacedJob({ name: 'here-1', namespace: watched }));
    await waitFor('the watched run\'s status', async () => (await status('trainingruns', watched, 'here'))?.phase);
    await waitFor('the watched service\'s Deployment', () => apps.readNamespacedDeployment({ name: 'here', namespace: watched }));
    await waitFor('the watched service\'s status', async () => (await status('inferenceservices', watched, 'here'))?.conditions);
    // Longer than a new run's first-status delay (2 s) and a burst's deferral after it.
    await sleep(5_000);

    expect(await absent(batch.readNamespacedJob({ name: 'elsewhere-1', namespace: other })), 'no Job in the unwatched namespace').toBe(true);
    expect((await batch.listNamespacedJob({ namespace: other })).items).toEqual([]);
    expect(await absent(apps.readNamespacedDeployment({ name: 'elsewhere', namespace: other })), 'no Deployment in the unwatched namespace').toBe(true);
    expect(await absent(core.readNamespacedService({ name: 'elsewhere', namespace: other })), 'no Service in the unwatched namespace').toBe(true);
    expect(await status('trainingruns', other, 'elsewhere')).toBeUndefined();
    expect(await status('inferenceservices', other, 'elsewhere')).toBeUndefined();
    const events = await core.listNamespacedEvent({ namespace: other });
    expect(events.items.filter((e) => e.source?.component?.startsWith('lathe') || e.reportingComponent?.startsWith('lathe')).map((e) => e.reason)).toEqual([]);
  });
});
