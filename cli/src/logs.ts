// `kubectl lathe logs RUN [-f] [--worker N]`: the logs of the run's current attempt (its Job
// status.jobName), worker N's newest pod (the Job's completion index), or why there are none.
import type { V1Pod } from '@kubernetes/client-node';
import type { TrainingRun } from '../../operator/src/api/schema/trainingrun.js';
import { ANNOTATIONS } from '../../operator/src/k8s/labels.js';
import { resourcePath } from '../../operator/src/client/kube-client.js';
import { CliError, apiError } from './errors.js';
import { PODS, TRAINING_RUNS, type Session } from './session.js';

const WAIT_POLL_MS = 1000;

/** The pod of worker `worker` of the attempt, newest first among retries; pure. */
export function pickPod(pods: readonly V1Pod[], worker: number): V1Pod | undefined {
  const index = (p: V1Pod) => Number(p.metadata?.annotations?.[ANNOTATIONS.completionIndex] ?? p.metadata?.labels?.[ANNOTATIONS.completionIndex] ?? 0);
  return pods
    .filter((p) => index(p) === worker)
    .sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')))[0];
}

/** Why a run has no pod to show; pure. */
export function whyNoPods(run: TrainingRun, worker: number): CliError {
  const name = run.metadata.name!;
  const s = run.status ?? {};
  const phase = s.phase ?? 'Pending';
  const said = s.message ? `: ${s.message}` : '';
  const workers = run.spec.workers ?? 1;
  if (worker >= workers) return new CliError(`TrainingRun ${name} has ${workers} worker(s); there is no worker ${worker}`, `--worker takes 0 to ${workers - 1}`);
  switch (phase) {
    case 'Succeeded':
    case 'Failed':
      return new CliError(`TrainingRun ${name} is ${phase} and the pods of ${s.jobName ?? 'its Job'} are gone (the Job is removed ttlAfterFinished after the end)${said}`, `the logs went with them; its curve and record stay in S3: ${s.artifact?.recordUri ?? 'kubectl lathe runs --history'}`);
    case 'Suspended':
      return new CliError(`TrainingRun ${name} is Suspended: its pods were deleted`, `resume it (kubectl patch trainingrun ${name} --type=merge -p '{"spec":{"suspend":false}}') and follow the new pod with -f`);
    default:
      return new CliError(`TrainingRun ${name} has no pod yet: it is ${phase}${said}`, '-f waits for the pod and follows it once it starts');
  }
}

function started(pod: V1Pod): boolean {
  return (pod.status?.containerStatuses ?? []).some((c) => c.state?.running || c.state?.terminated) || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

export interface LogsOptions {
  namespace: string;
  run: string;
  follow: boolean;
  worker: number;
  out: NodeJS.WritableStream;
  progress: (line: string) => void;
}

export async function logs(session: Session, o: LogsOptions): Promise<void> {
  let said = '';
  for (;;) {
    const run = await session.find<TrainingRun>(TRAINING_RUNS, o.namespace, o.run, `reading TrainingRun ${o.run}`);
    if (!run) throw new CliError(`no TrainingRun ${o.run} in namespace ${o.namespace}`, 'kubectl lathe runs -A --history lists every run, those deleted too');
    const pods = run.status?.jobName ? await session.list<V1Pod>(PODS, o.namespace, 'listing the run\'s pods', { labelSelector: `job-name=${run.status.jobName}` }) : [];
    const pod = pickPod(pods, o.worker);
    if (pod && started(pod)) return stream(session, o, pod);
    const why = pod ? new CliError(`pod ${pod.metadata!.name} of TrainingRun ${o.run} has not started: ${waiting(pod)}`, '-f waits for it') : whyNoPods(run, o.worker);
    const terminal = ['Succeeded', 'Failed', 'Suspended'].includes(run.status?.phase ?? '') || o.worker >= (run.spec.workers ?? 1);
    if (!o.follow || (terminal && !pod)) throw why;
    if (why.message !== said) o.progress(`waiting: ${(said = why.message)}`); // once per change, not per poll
    await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
  }
}

function waiting(pod: V1Pod): string {
  const w = pod.status?.containerStatuses?.[0]?.state?.waiting;
  return w ? `${w.reason ?? 'Waiting'}${w.message ? ` (${w.message})` : ''}` : (pod.status?.phase ?? 'Pending');
}

async function stream(session: Session, o: LogsOptions, pod: V1Pod): Promise<void> {
  const name = pod.metadata!.name!;
  const container = pod.spec?.containers?.[0]?.name;
  const path = `${resourcePath({ ...PODS, namespace: o.namespace, name })}/log`;
  let res;
  try {
    res = await session.client.stream(path, { ...(container ? { container } : {}), follow: o.follow });
  } catch (err) {
    throw apiError(err, session.client.access.server, `reading the logs of pod ${name}`);
  }
  o.progress(`logs of pod ${name}${o.follow ? ' (following; Ctrl-C stops)' : ''}`);
  for await (const chunk of res) o.out.write(chunk as Buffer);
}
