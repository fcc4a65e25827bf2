import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../test/support/fakes.js';
import { makeTrainingRun } from '../../../test/support/builders.js';
import { RUN_FILES, runId, runLocation } from './names.js';
import { writeRecord } from './records.js';

describe('writeRecord', () => {
  it("writes a started run's record only where none is, so a late one never replaces the final record", async () => {
    const store = new MemoryStore();
    const run = makeTrainingRun('r').obj();
    const loc = runLocation('lathe-artifacts', 'r', runId(run.metadata));
    const record = (phase: 'Running' | 'Succeeded') => ({ schemaVersion: 1, phase }) as unknown as Parameters<typeof writeRecord>[2];
    const stored = () => store.objects.get(`${loc.bucket}/${loc.keyPrefix}${RUN_FILES.record}`) as { phase: string };
    await writeRecord(store, loc, record('Running'), { ifAbsent: true });
    expect(stored().phase).toBe('Running');
    await writeRecord(store, loc, record('Succeeded'));
    await writeRecord(store, loc, record('Running'), { ifAbsent: true });
    expect(stored().phase).toBe('Succeeded');
  });
});
