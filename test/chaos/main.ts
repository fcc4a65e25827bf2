// `make chaos`: the full round (200 TrainingRuns, 20 InferenceServices, faults for three minutes),
// figures printed. LATHE_CHAOS_SEED replays a round; LATHE_CHAOS_RUNS / _SERVICES / _WINDOW_S scale it.
import { formatReport, runChaos } from './chaos.js';

const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const seed = env('LATHE_CHAOS_SEED', Math.floor(Math.random() * 2 ** 31));
const report = await runChaos({
  seed,
  runs: env('LATHE_CHAOS_RUNS', 200),
  services: env('LATHE_CHAOS_SERVICES', 20),
  windowMs: env('LATHE_CHAOS_WINDOW_S', 180) * 1000,
  faults: { operatorKills: 10, leaderKills: 3, leaderLosses: 2, apiserverRestarts: 2, compactions: 2, s3Outages: 1, s3OutageMs: 30_000, statusConflicts: 10, jobDeletions: 5 },
  settleTimeoutMs: 600_000,
  restMs: 60_000,
  log: (line) => process.stdout.write(`${line}\n`),
});
process.stdout.write(`\n${formatReport(report)}\n`);
process.exit(report.invariants.every((i) => i.violations.length === 0) ? 0 : 1);
