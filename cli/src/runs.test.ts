import { describe, expect, it } from 'vitest';
import { makeTrainingRun } from '../../test/support/builders.js';
import type { RunRecord } from '../../operator/src/trainingrun/records.js';
import { formatRuns, isRunRecord, rowOfRun, runRows, type StoredRun } from './runs.js';

const NOW = new Date('2026-12-02T12:00:00Z');

const running = makeTrainingRun('live')
  .namespace('ml')
  .uid('u-live')
  .created(new Date('2026-12-02T11:00:00Z'))
  .workers(2)
  .gpus(1)
  .status({ phase: 'Running', startTime: '2026-12-02T11:30:00Z', gpus: 2, progress: { summary: '2/3', step: 40, totalSteps: 60, loss: 0.412345 } })
  .obj();

function stored(name: string, uid: string, namespace = 'ml'): StoredRun {
  const record: RunRecord = {
    schemaVersion: 1,
    runId: '20261201-100000-abcdef',
    trainingRun: { name, namespace, uid, generation: 1 },
    spec: { model: 'hf://a/b', task: 'text-generation', dataset: { uri: 's3://d/x.jsonl' }, hyperparameters: { epochs: 3 }, resources: { gpus: 1 } },
    phase: 'Succeeded',
    attempts: 1,
    preemptions: 0,
    failures: 0,
    jobName: `${name}-1`,
    createdAt: '2026-12-01T10:00:00.000Z',
    startTime: '2026-12-01T10:00:05.000Z',
    completionTime: '2026-12-01T10:14:05.000Z',
    artifact: { uri: `s3://lathe-artifacts/models/${name}/20261201-100000-abcdef/checkpoint/`, metadataUri: '' },
    recordedAt: '2026-12-01T10:14:06.000Z',
  };
  return { prefixUri: `s3://lathe-artifacts/models/${name}/20261201-100000-abcdef/`, record };
}

describe('runs rows', () => {
  it('shows a live run as kubectl get would: progress with steps, four digits of loss, time since start', () => {
    expect(rowOfRun(running, NOW)).toMatchObject({ phase: 'Running', progress: '2/3 step 40/60', loss: '0.4123', duration: '30m', gpus: '2', artifact: '-', source: 'cluster' });
  });

  it('a run without status yet is Pending with the GPUs of its spec', () => {
    const fresh = makeTrainingRun('new').workers(3).gpus(2).obj();
    expect(rowOfRun(fresh, NOW)).toMatchObject({ phase: 'Pending', progress: '-', loss: '-', duration: '-', gpus: '6' });
  });

  it('--history adds the records of deleted runs only (by uid), in the namespace asked for', () => {
    const records = [stored('live', 'u-live'), stored('gone', 'u-gone'), stored('elsewhere', 'u-x', 'other'), stored('live', 'u-old-live')];
    const rows = runRows([running], records, 'ml', NOW);
    expect(rows.map((r) => [r.name, r.source])).toEqual([['live', 'cluster'], ['gone', 's3'], ['live', 's3']]);
    expect(rows[1]).toMatchObject({ phase: 'Succeeded', duration: '14m', gpus: '1', artifact: 's3://lathe-artifacts/models/gone/20261201-100000-abcdef/checkpoint/' });
    expect(runRows([running], records, undefined, NOW)).toHaveLength(4); // -A
    expect(runRows([running], undefined, 'ml', NOW)).toHaveLength(1); // without --history
  });

  it('the metadata of a stored run gives its epochs and final loss', () => {
    const s = stored('gone', 'u-gone');
    s.metadata = { metrics: { epochs: [{ epoch: 1, loss: 2 }, { epoch: 2, loss: 1.5 }, { epoch: 3, loss: 1.25 }], final: { loss: 1.25 } }, artifact: { uri: 's3://b/x/checkpoint/', format: 'safetensors' } } as StoredRun['metadata'];
    expect(runRows([], [s], 'ml', NOW)[0]).toMatchObject({ progress: '3/3', loss: '1.25' });
  });

  it('prints NAMESPACE with -A and OBJECT with --history', () => {
    const text = formatRuns(runRows([running], [stored('gone', 'u-gone')], undefined, NOW), { allNamespaces: true, history: true });
    const [header, first, second] = text.trimEnd().split('\n');
    expect(header!.split(/\s{3,}/)).toEqual(['NAMESPACE', 'NAME', 'PHASE', 'PROGRESS', 'LOSS', 'DURATION', 'GPUS', 'ARTIFACT', 'OBJECT']);
    expect(first).toMatch(/^ml\s+live\s+Running\s+2\/3 step 40\/60\s+0\.4123\s+30m\s+2\s+-\s+present$/);
    expect(second).toMatch(/^ml\s+gone\s+Succeeded\s+-\s+-\s+14m\s+1\s+s3:\/\/\S+\s+deleted$/);
  });

  it('takes only records with what a row needs', () => {
    expect(isRunRecord(stored('a', 'b').record)).toBe(true);
    expect(isRunRecord({ runId: 'x', phase: 'Succeeded' })).toBe(false);
    expect(isRunRecord(null)).toBe(false);
  });
});
