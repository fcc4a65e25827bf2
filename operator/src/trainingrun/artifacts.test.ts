import { describe, expect, it } from 'vitest';
import { MemoryStore, TestClock } from '../../../test/support/fakes.js';
import { T0, makeJob, makeTrainingRun } from '../../../test/support/builders.js';
import { trainerMetadata } from '../../../test/support/metadata.js';
import { silentLogger } from '../runtime/logger.js';
import { METADATA_GRACE_MS, S3_RETRY_MS, recordCompleted, recordFailed } from './artifacts.js';
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
    expect(early).toMatchObject({ artifact: { problem: { reason: 'MetadataMissing' } }, retryAfterMs: S3_RETRY_MS });
    const d = deps(METADATA_GRACE_MS + 1);
    const late = await recordCompleted(d, plan, obs);
    expect(late).toMatchObject({ artifact: { problem: { reason: 'MetadataMissing' }, final: true } });
    expect(d.store.objects.get(key('run.json'))).toMatchObject({ phase: 'Failed' });
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
