// The short seeded chaos round of `make test` (the full one is `make chaos`): a smaller workload and
// every kind of fault at least once. It fails on any broken invariant and prints the round's table.
import { expect, it } from 'vitest';
import { formatReport, runChaos } from './chaos.js';

const seed = Number(process.env.LATHE_CHAOS_SEED ?? 20261202);

it(`keeps every invariant under injected faults (seed ${seed})`, async () => {
  const report = await runChaos({
    seed,
    runs: 24,
    services: 4,
    windowMs: 45_000,
    faults: { operatorKills: 3, leaderKills: 1, leaderLosses: 1, apiserverRestarts: 1, compactions: 1, s3Outages: 1, s3OutageMs: 10_000, statusConflicts: 3, jobDeletions: 2 },
    settleTimeoutMs: 180_000,
    restMs: 10_000,
    log: (line) => console.log(line),
  });
  console.log(formatReport(report));
  expect(report.invariants.filter((i) => i.violations.length > 0).map((i) => `${i.name}: ${i.violations.join('; ')}`)).toEqual([]);
  for (const kind of ['operator SIGKILL', 'leader SIGKILL, restarted at once', 'leader lost, standby takes over', 'kube-apiserver restart', 'etcd compaction', 'S3 outage', 'status conflict', 'Job deleted by hand']) {
    expect(report.faults[kind], `faults of kind "${kind}" injected`).toBeGreaterThan(0);
  }
});
