// docs/contracts.md tells image authors which variables the operator sets. This test keeps its two
// tables equal to what render() actually sets, so neither can drift from the other.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeInferenceService, makeTrainingRun } from '../../test/support/builders.js';
import { configWith } from '../../test/support/config.js';
import { render as renderService } from './inferenceservice/render.js';
import { S3_ENDPOINT_ENV } from './k8s/pod-s3.js';
import { planRun } from './trainingrun/plan.js';
import { render as renderRun } from './trainingrun/render.js';
import { TORCHRUN_ENV, TRAINER_ENV } from './trainingrun/trainer-contract.js';

const doc = readFileSync(path.join(import.meta.dirname, '../../docs/contracts.md'), 'utf8');

/** The variable names of the table under `heading` (backticked names of its first column). */
function tableVariables(heading: string): Set<string> {
  const section = doc.split(/^## /m).find((s) => s.startsWith(heading));
  if (!section) throw new Error(`docs/contracts.md has no section "${heading}"`);
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    for (const m of line.split('|')[1]!.matchAll(/`([A-Z0-9_*]+)`/g)) names.add(m[1]!);
  }
  return names;
}

/** Names set by a container's env, AWS_* folded into the table's one `AWS_*` row. */
function envNames(env: { name: string }[] | undefined): Set<string> {
  return new Set((env ?? []).map((e) => (e.name.startsWith('AWS_') ? 'AWS_*' : e.name)));
}

// With an S3-compatible store, so the conditional AWS_ENDPOINT_URL_S3 is rendered too.
const config = configWith({ podS3Endpoint: 'http://minio:9000', podEnvSecret: 'lathe-s3' });

describe('docs/contracts.md', () => {
  it('lists exactly the variables the operator sets on a training container', () => {
    const single = renderRun({ plan: planRun(makeTrainingRun('r').obj(), config.s3Bucket, 1), config, modelUri: 'scratch' });
    const ddp = renderRun({ plan: planRun(makeTrainingRun('r').workers(2).obj(), config.s3Bucket, 1), config, modelUri: 'scratch' });
    const set = new Set([...envNames(single.job.spec!.template.spec!.containers[0]!.env), ...envNames(ddp.job.spec!.template.spec!.containers[0]!.env)]);
    expect([...tableVariables('Trainer environment')].sort()).toEqual([...set].sort());
  });

  it('lists exactly the trainer-contract constants (TRAINER_ENV, TORCHRUN_ENV, the S3 endpoint) that render sets', () => {
    const constants = [...Object.values(TRAINER_ENV), ...Object.values(TORCHRUN_ENV), S3_ENDPOINT_ENV].map((n) => (n.startsWith('AWS_') ? 'AWS_*' : n));
    expect([...tableVariables('Trainer environment')].sort()).toEqual([...new Set(constants)].sort());
    // Every name render sets is one of the constants: no literal name beside them.
    const ddp = renderRun({ plan: planRun(makeTrainingRun('r').workers(2).obj(), config.s3Bucket, 1), config, modelUri: 'scratch' });
    expect(ddp.job.spec!.template.spec!.containers[0]!.env!.map((e) => e.name).sort()).toEqual([...Object.values(TRAINER_ENV), ...Object.values(TORCHRUN_ENV), S3_ENDPOINT_ENV].sort());
  });

  it('lists exactly the variables the operator sets on a serving container', () => {
    const { deployment } = renderService({ isvc: makeInferenceService('chat').obj(), modelUri: 's3://b/m/', config });
    expect([...tableVariables('Inference server environment')].sort()).toEqual([...envNames(deployment.spec!.template.spec!.containers[0]!.env)].sort());
  });
});
