import { describe, expect, it } from 'vitest';
import { MemoryStore, TestClock } from '../../../test/support/fakes.js';
import { T0, makeJob, makeTrainingRun } from '../../../test/support/builders.js';
import { trainerMetadata } from '../../../test/support/metadata.js';
import { silentLogger } from '../runtime/logger.js';
import { METADATA_GRACE_MS, METADATA_RETRY_MAX_MS, S3_RETRY_MS, metadataRetryMs, recordCompleted, recordFailed } from './artifacts.js';
import { planRun } from './plan.js';

const plan = planRun(makeTrainingRun('r').obj(), 'lathe-artifacts', 1);
const obs = { attempt: 1, jobName: 'r-1', preemptions: 0, job: makeJob('r-1').complete(T0).obj() };
const key = (f: string) => `${plan.location.bucket}/${plan.location.keyPrefix}${f}`;

function deps(afterCompletionMs: number) {
  const store = new MemoryStore();
  return { store, now: new TestClock(T0.getTime() + afterCompletionMs).now, log: silentLogger() };
}

describe('recordCompleted', () => {
  it('records the artifact and run.json from a valid metadata.json', async () => {
    const d = deps(1_000);
    const uri = `${plan.location.prefixUri}checkpoint/`;
    await d.store.putJson(plan.location.bucket, `${plan.location.keyPrefix}metadata.json`, trainerMetadata(plan.runId, uri));
    const r = await recordCompleted(d, plan, obs);
    expect(r).toEqual({ artifact: { recorded: { uri, metadataUri: `${plan.location.prefixUri}metadata.json`, recordUri: `${plan.location.prefixUri}run.json` } } });
    expect(d.store.objects.get(key('run.json'))).toMatchObject({ phase: 'Succeeded', runId: plan.runId, artifact: { uri } });
  });

  it('retries an S3 outage however long after completion, and never makes it final', async () => {
    const d = deps(10 * METADATA_GRACE_MS);
    d.store.down = true;
    const r = await recordCompleted(d, plan, obs);
    expect(r).toMatchObject({ artifact: { problem: { reason: 'S3Unavailable' } }, retryAfterMs: S3_RETRY_MS });
    expect(r.artifact?.final).toBeUndefined();
  });

  it('waits out the grace period for a missing metadata.json, then records the failure', async () => {
    const early = await recordCompleted(deps(METADATA_GRACE_MS - 1), plan, obs);
    expect(early).toMatchObject({ artifact: { problem: { reason: 'MetadataMissing' } }, retryAfterMs: 1_001 }); // just past the grace period's end
    const d = deps(METADATA_GRACE_MS + 1);
    const late = await recordCompleted(d, plan, obs);
    expect(late).toMatchObject({ artifact: { problem: { reason: 'MetadataMissing' }, final: true } });
    expect(d.store.objects.get(key('run.json'))).toMatchObject({ phase: 'Failed' });
  });

  it('reads a missing metadata.json again after a wait that doubles, up to a minute, and not past the grace period', async () => {
    expect(await recordCompleted(deps(1_000), plan, obs)).toMatchObject({ artifact: { problem: { reason: 'MetadataMissing' } }, retryAfterMs: S3_RETRY_MS });
    // Each retry waits about as long as the run has waited so far: 5, 10, 20, 40 s, then 60 s.
    let since = 0;
    const waits: number[] = [];
    while (since < METADATA_GRACE_MS) {
      const wait = metadataRetryMs(since);
      waits.push(wait);
      since += wait;
    }
    expect(waits.slice(0, 5)).toEqual([S3_RETRY_MS, 5_000, 10_000, 20_000, 40_000]);
    expect(Math.max(...waits)).toBe(METADATA_RETRY_MAX_MS);
    // About 16 reads in the ten minutes instead of 120, and the last lands just past the grace period.
    expect(waits.length).toBeLessThan(20);
    expect(since).toBeGreaterThan(METADATA_GRACE_MS);
    expect(since).toBeLessThanOrEqual(METADATA_GRACE_MS + 1_000);
  });

  it('refuses a metadata.json of another run', async () => {
    const d = deps(1_000);
    await d.store.putJson(plan.location.bucket, `${plan.location.keyPrefix}metadata.json`, trainerMetadata('20260101-000000-aaaaaa', 's3://lathe-artifacts/models/r/other/checkpoint/'));
    expect(await recordCompleted(d, plan, obs)).toMatchObject({ artifact: { problem: { reason: 'MetadataInvalid', message: expect.stringContaining('belongs to run 20260101-000000-aaaaaa') } } });
  });
});

describe('recordFailed', () => {
  it('writes run.json, or keeps the run active while S3 is down', async () => {
    const d = deps(0);
    expect(await recordFailed(d, plan, obs, 'the trainer rejected its input')).toEqual({});
    expect(d.store.objects.get(key('run.json'))).toMatchObject({ phase: 'Failed', message: 'the trainer rejected its input' });
    d.store.down = true;
    expect(await recordFailed(d, plan, obs, 'x')).toMatchObject({ artifact: { problem: { reason: 'S3Unavailable' } }, retryAfterMs: S3_RETRY_MS });
  });
});
