// `--wait`: follow a long operation to its end, printing a line each time what it reports changes
// (never one per poll): `runs RUN --wait` until the run finishes, `generate SERVICE --wait` until
// the service is Ready (its model downloaded and loaded) before asking it.
import type { InferenceService } from '../../operator/src/api/schema/inferenceservice.js';
import type { TrainingRun } from '../../operator/src/api/schema/trainingrun.js';
import { CliError } from './errors.js';
import { INFERENCE_SERVICES, TRAINING_RUNS, type Session } from './session.js';

export const WAIT_POLL_MS = 2000;

/** What a run reports now, as one line; pure. */
export function runProgressLine(run: TrainingRun): string {
  const s = run.status ?? {};
  const p = s.progress;
  const parts: string[] = [s.phase ?? 'Pending'];
  if (p?.summary) parts.push(`epoch ${p.summary}`);
  if (p?.step !== undefined && p.totalSteps) parts.push(`step ${p.step}/${p.totalSteps} (${Math.floor((100 * p.step) / p.totalSteps)}%)`);
  if (typeof p?.loss === 'number') parts.push(`loss ${Number(p.loss.toPrecision(4))}`);
  if (s.message && s.phase !== 'Running') parts.push(s.message);
  return parts.join(', ');
}

/** What a service reports while it becomes Ready (the model's download and load); pure. */
export function serviceProgressLine(svc: InferenceService): string {
  const ready = svc.status?.conditions?.find((c) => c.type === 'Ready');
  const replicas = `${svc.status?.readyReplicas ?? 0}/${svc.status?.replicas ?? 0} ready`;
  return ready ? `${ready.status === 'True' ? 'Ready' : ready.reason}, ${replicas}: ${ready.message}` : `no status yet, ${replicas}`;
}

const FINISHED = new Set(['Succeeded', 'Failed']);

interface WaitOptions {
  namespace: string;
  name: string;
  timeoutMs: number;
  progress: (line: string) => void;
  pollMs?: number;
}

async function poll<T>(o: WaitOptions, read: () => Promise<T | undefined>, line: (obj: T) => string, done: (obj: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  let said = '';
  for (;;) {
    const obj = await read();
    if (!obj) throw new CliError(`no ${what} ${o.name} in namespace ${o.namespace}`, `kubectl get ${what.toLowerCase()}s -n ${o.namespace} lists them`);
    const now = line(obj);
    if (now !== said) o.progress((said = now));
    if (done(obj)) return obj;
    if (Date.now() > deadline) throw new CliError(`${what} ${o.name} is still not done after ${Math.round(o.timeoutMs / 1000)} s (${now})`, `kubectl describe ${what.toLowerCase()} ${o.name} -n ${o.namespace} shows its conditions and Events; --timeout waits longer`);
    await new Promise((r) => setTimeout(r, o.pollMs ?? WAIT_POLL_MS));
  }
}

/** Until the run is Succeeded (returned) or Failed (a CliError with its message). */
export async function waitForRun(session: Session, o: WaitOptions): Promise<TrainingRun> {
  const run = await poll(o, () => session.find<TrainingRun>(TRAINING_RUNS, o.namespace, o.name, `reading TrainingRun ${o.name}`), runProgressLine, (r) => FINISHED.has(r.status?.phase ?? ''), 'TrainingRun');
  if (run.status?.phase === 'Failed') throw new CliError(`TrainingRun ${o.name} Failed: ${run.status.message ?? 'no message'}`, `kubectl describe trainingrun ${o.name} -n ${o.namespace} shows its Events; kubectl lathe logs ${o.name} shows the last attempt while its pods exist`);
  return run;
}

/** Until the service is Ready. */
export function waitForService(session: Session, o: WaitOptions): Promise<InferenceService> {
  return poll(o, () => session.find<InferenceService>(INFERENCE_SERVICES, o.namespace, o.name, `reading InferenceService ${o.name}`), serviceProgressLine, (s) => s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true, 'InferenceService');
}

/** `--timeout` values: 90s, 15m, 2h, or seconds. */
export function parseTimeout(value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const m = /^(\d+)(s|m|h)?$/.exec(value);
  if (!m) throw new CliError(`--timeout must be a duration like 90s, 15m or 2h, got ${JSON.stringify(value)}`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
}
