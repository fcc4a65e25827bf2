import { describe, expect, it } from 'vitest';
import { FakeWriter, RecordingEvents } from '../../../test/support/fakes.js';
import { makeJob, makeTrainingRun, makeWorkload } from '../../../test/support/builders.js';
import { syncSuspend } from './suspend.js';

describe('syncSuspend', () => {
  const deps = () => ({ writer: new FakeWriter(), events: new RecordingEvents() });

  it('mirrors spec.suspend onto the Job, both ways, with an Event', async () => {
    const d = deps();
    await syncSuspend(d, makeTrainingRun('r').suspend().obj(), makeJob('r-1').obj());
    await syncSuspend(d, makeTrainingRun('r').obj(), makeJob('r-1').suspended().obj());
    expect(d.writer.writes.map((w) => w.body)).toEqual([{ spec: { suspend: true } }, { spec: { suspend: false } }]);
    expect(d.events.reasons()).toEqual(['Suspended', 'Resumed']);
  });

  it("leaves alone a Job already as asked, a finished Job, and a submitted queued run's Job (Kueue owns its suspend)", async () => {
    const d = deps();
    await syncSuspend(d, makeTrainingRun('r').suspend().obj(), makeJob('r-1').suspended().obj());
    await syncSuspend(d, makeTrainingRun('r').suspend().obj(), makeJob('r-1').complete().obj());
    await syncSuspend(d, makeTrainingRun('r').queue('team-a').obj(), makeJob('r-1').submittedTo('team-a').obj());
    await syncSuspend(d, makeTrainingRun('r').queue('team-a').suspend().obj(), makeJob('r-1').submittedTo('team-a').obj());
    expect(d.writer.writes).toEqual([]);
  });

  it('suspends a queued run through its Kueue Workload, not the Job', async () => {
    const d = deps();
    const job = makeJob('r-1').submittedTo('team-a').obj();
    await syncSuspend(d, makeTrainingRun('r').queue('team-a').suspend().obj(), job, makeWorkload('w').ownedBy(job).admitted().obj());
    expect(d.writer.writes.map((w) => w.kind)).toEqual(['Workload']);
  });
});
