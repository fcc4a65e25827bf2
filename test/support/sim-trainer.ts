// Plays the trainer's part for the e2e suite, whose pods run on kwok's simulated nodes and so run no
// code: it writes to S3 exactly what the real trainer (trainer-image/) writes, at the prefix the
// operator handed to the Job in LATHE_OUTPUT_URI, following docs/contracts.md.
import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { V1Job } from '@kubernetes/client-node';
import { TORCHRUN_ENV, TRAINER_ENV } from '../../operator/src/trainingrun/trainer-contract.js';

export function s3(): S3Client {
  return new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3) });
}

export function jobEnv(job: V1Job): Record<string, string> {
  const c = job.spec!.template.spec!.containers[0]!;
  return Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
}

function split(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!m) throw new Error(`not an s3 uri: ${uri}`);
  return { bucket: m[1]!, key: m[2]! };
}

async function put(client: S3Client, uri: string, body: string | Uint8Array): Promise<void> {
  const { bucket, key } = split(uri);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

export async function writeProgress(client: S3Client, job: V1Job, p: { epoch: number; epochs: number; step: number; loss: number }): Promise<void> {
  const env = jobEnv(job);
  const now = new Date().toISOString();
  await put(client, `${env[TRAINER_ENV.outputUri]}progress.json`, JSON.stringify({ schemaVersion: 1, runId: env[TRAINER_ENV.runId], ...p, totalSteps: p.epochs * 10, startedAt: now, updatedAt: now }));
}

/** Final weights, then metadata.json last (its presence means the artifact is complete). */
export async function writeArtifact(client: S3Client, job: V1Job, opts: { metadata?: (m: Record<string, unknown>) => unknown } = {}): Promise<{ checkpointUri: string }> {
  const env = jobEnv(job);
  const out = env[TRAINER_ENV.outputUri]!;
  const files = [
    { path: 'model.safetensors', body: new Uint8Array(4096).map((_, i) => i % 251) },
    { path: 'config.json', body: new TextEncoder().encode(JSON.stringify({ model_type: 'llama', hidden_size: 16 })) },
  ];
  for (const f of files) await put(client, `${out}checkpoint/${f.path}`, f.body);
  const started = new Date(Date.now() - 60_000).toISOString();
  const metadata: Record<string, unknown> = {
    schemaVersion: 1,
    runId: env[TRAINER_ENV.runId],
    model: env[TRAINER_ENV.modelName],
    baseModel: env[TRAINER_ENV.modelUri],
    task: env[TRAINER_ENV.task],
    datasetUri: env[TRAINER_ENV.datasetUri],
    hyperparameters: JSON.parse(env[TRAINER_ENV.hyperparameters] ?? '{}') as Record<string, unknown>,
    metrics: { epochs: [{ epoch: 1, loss: 2.5 }, { epoch: 2, loss: 1.25 }], final: { loss: 1.25 } },
    artifact: { uri: `${out}checkpoint/`, format: 'safetensors' },
    files: files.map((f) => ({ path: f.path, size: f.body.byteLength, sha256: createHash('sha256').update(f.body).digest('hex') })),
    attempt: Number(env[TRAINER_ENV.attempt] ?? 1),
    worldSize: Number(env[TORCHRUN_ENV.nnodes] ?? 1),
    startedAt: started,
    finishedAt: new Date().toISOString(),
    frameworks: { python: '3.12.7', torch: '2.15.0', transformers: '5.23.0' },
  };
  const body = opts.metadata ? opts.metadata(metadata) : metadata;
  await put(client, `${out}metadata.json`, typeof body === 'string' ? body : JSON.stringify(body));
  return { checkpointUri: `${out}checkpoint/` };
}
