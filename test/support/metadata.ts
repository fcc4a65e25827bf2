// A metadata.json as the trainer writes it (schemas/metadata.schema.json), for tests that stand in
// for the trainer.
import type { RunMetadata } from '../../operator/src/api/metadata.js';

export function trainerMetadata(runId: string, artifactUri: string): RunMetadata {
  const sha = 'a'.repeat(64);
  return {
    schemaVersion: 1,
    runId,
    model: 'smol',
    baseModel: 'hf://BEE-spoke-data/smol_llama-101M-GQA',
    task: 'text-generation',
    datasetUri: 's3://lathe-datasets/tinystories.jsonl',
    hyperparameters: { epochs: 1, batchSize: 4, learningRate: 5e-5 },
    metrics: { epochs: [{ epoch: 1, loss: 2.0 }], final: { loss: 2.0 } },
    artifact: { uri: artifactUri, format: 'safetensors' },
    files: [{ path: 'model.safetensors', size: 1, sha256: sha }],
    attempt: 1,
    worldSize: 1,
    startedAt: '2026-11-22T12:00:00Z',
    finishedAt: '2026-11-22T12:30:00Z',
    frameworks: { python: '3.11.7', torch: '2.5.1' },
  };
}
