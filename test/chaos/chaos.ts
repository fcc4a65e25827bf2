// The chaos suite: a mixed workload of TrainingRuns and InferenceServices under two operator
// replicas with leader election, while faults are injected from a seeded schedule (operator
// SIGKILLs, the leader killed, kube-apiserver restarted, etcd compacted, S3 stopped, a second
// writer on status, Jobs deleted by hand). At the end the invariants Lathe promises are checked
// and printed with counts: no duplicate Jobs, every run decided, every record in S3, every service
// Ready or rolled back, no crash loop, no writes at rest. The seed is printed so a failure replays.
//
// Pods run on the kwok nodes: the sim.lathe.dev annotations (hack/kwok/pod-stages.yaml) make them
// succeed after a while or fail with the trainer's bad-input exit code, and this driver plays the
// trainer's S3 part (sim-trainer.ts) for every Job it sees, as the real trainer would.
import { execFileSync, spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { CoordinationV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1Job } from '@kubernetes/client-node';
import { parseMetadata } from '../../operator/src/api/metadata.js';
import { statusCode } from '../../operator/src/client/errors.js';
import { clients, createNamespace, deleteNamespace, ensureCrds, repoRoot, sleep, waitFor } from '../support/cluster.js';
import { E2E_LEASE, metricSum, startOperator, type OperatorProcess } from '../support/operator-process.js';
import { s3, writeArtifact } from '../support/sim-trainer.js';
import { makeTrainingRun } from '../support/builders.js';

export interface ChaosOptions {
  seed: number;
  runs: number;
  services: number;
  /** How long faults are injected, while the workload runs. */
  windowMs: number;
  faults: { operatorKills: number; leaderKills: number; leaderLosses: number; apiserverRestarts: number; compactions: number; s3Outages: number; s3OutageMs: number; statusConflicts: number; jobDeletions: number };
  /** How long the workload may take to settle after the window. */
  settleTimeoutMs: number;
  /** How long "at rest" is watched for writes. */
  restMs: number;
  log?: (line: string) => void;
}

export interface Invariant {
  name: string;
  checked: number;
  violations: string[];
}

export interface ChaosReport {
  seed: number;
  runs: number;
  services: number;
  faults: Record<string, number>;
  recovery: Record<string, number[]>;
  invariants: Invariant[];
  unexpectedExits: string[];
  /** Informer restarts for 410 Gone in the replicas running at the end (a relist each). */
  watchesGone: number;
  durationMs: number;
}

/** mulberry32: small, seedable, good enough to pick faults and workloads reproducibly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type RunKind = 'single' | 'ddp' | 'spot' | 'suspended' | 'bad';
const BAD_INPUT = 'lathe-trainer: error: dataset s3://lathe-datasets/missing.jsonl does not exist';
const GOOD_MODEL = 's3://lathe-artifacts/models/chaos/v1/checkpoint/';
const BROKEN_MODEL = 's3://lathe-artifacts/models/chaos-broken/v2/checkpoint/';
const api = { group: 'lathe.dev', version: 'v1alpha1' };

interface RunStatus {
  phase?: string;
  jobName?: string;
  message?: string;
  attempts?: number;
  artifact?: { uri?: string; metadataUri?: string; recordUri?: string };
}
interface Obj<S> {
  metadata: { name: string; generation?: number };
  spec: Record<string, unknown>;
  status?: S & { observedGeneration?: number; conditions?: { type: string; status: string; reason: string; message: string }[] };
}
type IsvcStatus = { servingModelUri?: string; modelUri?: string; message?: string };

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => undefined);
  const random = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const started = Date.now();
  const { kc, core, batch } = clients();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const leases = kc.makeApiClient(CoordinationV1Api);
  const storage = s3();
  ensureCrds();
  const ns = await createNamespace(core, 'chaos', { 'pod-security.kubernetes.io/enforce': 'restricted' }, ['lathe-trainer', 'lathe-inference']);
  const faults: Record<string, number> = {};
  const recovery: Record<string, number[]> = {};
  const count = (k: string) => (faults[k] = (faults[k] ?? 0) + 1);
  const recovered = (k: string, ms: number) => (recovery[k] ??= []).push(ms);
  const unexpectedExits: string[] = [];

  // ---- two operator replicas, restarted like a kubelet restarts a pod (same name) ----
  const identities = ['chaos-a', 'chaos-b'];
  const operators = new Map<string, OperatorProcess>();
  const startReplica = async (identity: string) => {
    const op = await startOperator({ env: { POD_NAME: identity, LATHE_WATCH_NAMESPACES: ns, LATHE_LOG_LEVEL: 'warn' }, waitReady: false });
    operators.set(identity, op);
    return op;
  };
  for (const id of identities) await startReplica(id);
  // Watches every replica: an exit this driver did not cause is restarted, and counted.
  let stopping = false;
  const supervisor = (async () => {
    while (!stopping) {
      for (const [id, op] of operators) {
        const exit = op.exited();
        if (exit && !exit.stopped && !stopping) {
          const leaseLost = op.logs.some((l) => l.includes('leader election lost'));
          unexpectedExits.push(`${id}: exit ${exit.code ?? exit.signal}${leaseLost ? ' (leader election lost)' : ''}: ${op.logs.slice(-3).join(' | ')}`);
          operators.delete(id);
          await startReplica(id);
        }
      }
      await sleep(250);
    }
  })();
  // Whatever happens, the replicas and the namespace go at the end (a failed round must not
  // leave operators running for the leak check to find).
  try {
    // The chart's Role grants the operator one Lease by name: the suite's (operator-process.ts).
    const holder = async (): Promise<string> => {
      try {
        const lease = await leases.readNamespacedLease({ name: E2E_LEASE.name, namespace: E2E_LEASE.namespace });
        return identities.includes(lease.spec?.holderIdentity ?? '') ? lease.spec!.holderIdentity! : '';
      } catch {
        return '';
      }
    };
    const leaseRenewedSince = async (t: number): Promise<boolean> => {
      const lease = await leases.readNamespacedLease({ name: E2E_LEASE.name, namespace: E2E_LEASE.namespace });
      return new Date(lease.spec?.renewTime ?? 0).getTime() > t;
    };
    await waitFor('a leader', async () => (await holder()) !== '', 60_000, 200);

    // ---- the workload ----
    const kinds: RunKind[] = [];
    for (let i = 0; i < o.runs; i++) {
      const r = random();
      kinds.push(r < 0.4 ? 'single' : r < 0.55 ? 'ddp' : r < 0.7 ? 'spot' : r < 0.85 ? 'suspended' : 'bad');
    }
    const runName = (i: number) => `run-${String(i).padStart(3, '0')}-${kinds[i]}`;
    for (let i = 0; i < o.runs; i++) {
      const kind = kinds[i]!;
      const annotations: Record<string, string> = { 'sim.lathe.dev/run-ms': String(5_000 + Math.floor(random() * 20_000)) };
      if (kind === 'bad') Object.assign(annotations, { 'sim.lathe.dev/exit': '2', 'sim.lathe.dev/message': BAD_INPUT });
      const spec: Record<string, unknown> = {
        hyperparameters: { epochs: 1, batchSize: 4, learningRate: 0.0005 },
        resources: { gpus: kind === 'spot' ? 1 : random() < 0.3 ? 1 : 0, cpu: '100m', memory: '256Mi' },
        podMetadata: { annotations },
        retries: 2,
        ...(kind === 'ddp' ? { workers: 2 } : {}),
        ...(kind === 'spot' ? { spot: true } : {}),
        ...(kind === 'suspended' ? { suspend: true } : {}),
      };
      await custom.createNamespacedCustomObject({ ...api, namespace: ns, plural: 'trainingruns', body: makeTrainingRun(runName(i)).spec(spec).manifest() });
    }
    const broken = new Set<string>();
    for (let i = 0; i < o.services; i++) {
      const name = `svc-${String(i).padStart(2, '0')}`;
      if (random() < 0.3) broken.add(name);
      await custom.createNamespacedCustomObject({
        ...api,
        namespace: ns,
        plural: 'inferenceservices',
        body: { apiVersion: 'lathe.dev/v1alpha1', kind: 'InferenceService', metadata: { name }, spec: { task: 'text-generation', model: { uri: GOOD_MODEL }, replicas: { min: 1 }, progressDeadlineSeconds: 10, resources: { gpus: 0, cpu: '100m', memory: '256Mi' } } },
      });
    }
    log(`[chaos] seed ${o.seed}: ${o.runs} TrainingRuns (${(['single', 'ddp', 'spot', 'suspended', 'bad'] as const).map((k) => `${kinds.filter((x) => x === k).length} ${k}`).join(', ')}), ${o.services} InferenceServices (${broken.size} rolled to a broken model)`);

    // ---- the trainer's part: artifacts for every Job of a run that should succeed; spot evictions ----
    const written = new Set<string>();
    const evicted = new Set<string>();
    const trainer = (async () => {
      while (!stopping) {
        try {
          const jobs = (await batch.listNamespacedJob({ namespace: ns })).items;
          for (const job of jobs) {
            const uid = job.metadata!.uid!;
            const run = job.metadata!.labels?.['lathe.dev/training-run'] ?? '';
            if (written.has(uid) || run.endsWith('-bad')) continue;
            try {
              await writeArtifact(storage, job);
              written.add(uid);
            } catch {
              // S3 is down: the next loop writes it.
            }
          }
          const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'lathe.dev/training-run' })).items;
          for (const pod of pods) {
            const run = pod.metadata!.labels!['lathe.dev/training-run']!;
            if (!run.endsWith('-spot') || evicted.has(run) || pod.status?.phase !== 'Running') continue;
            evicted.add(run);
            count('spot eviction');
            await core.createNamespacedPodEviction({ name: pod.metadata!.name!, namespace: ns, body: { metadata: { name: pod.metadata!.name!, namespace: ns } } }).catch(() => evicted.delete(run));
          }
        } catch {
          // The API server is restarting.
        }
        await sleep(500);
      }
    })();

    // ---- the faults, on a seeded schedule over the window ----
    type Fault = { at: number; kind: string };
    const schedule: Fault[] = [];
    const add = (kind: string, n: number) => {
      for (let i = 0; i < n; i++) schedule.push({ at: Math.floor(random() * o.windowMs), kind });
    };
    // One kill right after the workload was created: every new run is then between its Job's create
    // and its first status write (which waits 2 s, first-status.ts).
    if (o.faults.operatorKills > 0) schedule.push({ at: 300, kind: 'operator SIGKILL' });
    add('operator SIGKILL', o.faults.operatorKills - 1);
    add('leader SIGKILL, restarted at once', o.faults.leaderKills);
    add('leader lost, standby takes over', o.faults.leaderLosses);
    add('kube-apiserver restart', o.faults.apiserverRestarts);
    add('etcd compaction', o.faults.compactions);
    add('S3 outage', o.faults.s3Outages);
    add('status conflict', o.faults.statusConflicts);
    add('Job deleted by hand', o.faults.jobDeletions);
    add('resume a suspended run', kinds.filter((k) => k === 'suspended').length);
    add('roll a service to a broken model', broken.size);
    schedule.sort((a, b) => a.at - b.at);
    const resumable = kinds.map((k, i) => (k === 'suspended' ? runName(i) : '')).filter(Boolean);
    const toBreak = [...broken];
    const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    const live = async (): Promise<Obj<RunStatus>[]> =>
      ((await custom.listNamespacedCustomObject({ ...api, namespace: ns, plural: 'trainingruns' })) as { items: Obj<RunStatus>[] }).items.filter((r) => !['Succeeded', 'Failed'].includes(r.status?.phase ?? ''));
    // A fault that needs a live run waits a little for one rather than being skipped.
    const candidates = async <T>(find: () => Promise<T[]>): Promise<T[]> => waitFor('a run to inject the fault into', async () => {
      const xs = await find();
      return xs.length > 0 ? xs : undefined;
    }, 90_000, 500);
    const apiUp = async () => {
      const t0 = Date.now();
      await waitFor('the API server', async () => (await core.listNamespace({ limit: 1 })).items !== undefined, 120_000, 200);
      return Date.now() - t0;
    };

    const t0 = Date.now();
    for (const f of schedule) {
      const wait = t0 + f.at - Date.now();
      if (wait > 0) await sleep(wait);
      try {
        switch (f.kind) {
          case 'operator SIGKILL':
          case 'leader SIGKILL, restarted at once':
          case 'leader lost, standby takes over': {
            const lead = await holder();
            const id = f.kind === 'operator SIGKILL' ? pick(identities) : lead;
            const op = operators.get(id);
            if (!op) break;
            const killedAt = Date.now();
            await op.stop('SIGKILL');
            count(f.kind);
            if (f.kind === 'leader lost, standby takes over') {
              // The leader's machine is gone: the other replica must wait out the Lease (15 s).
              const other = identities.find((x) => x !== id)!;
              await waitFor('the standby to take the Lease', async () => (await holder()) === other, 60_000, 100);
              recovered('standby takes over a lost leader (ms)', Date.now() - killedAt);
              await startReplica(id);
            } else {
              // A crashed container, restarted by the kubelet under the same pod name.
              await sleep(id === lead ? 1_000 : 500 + Math.floor(random() * 2_000));
              await startReplica(id);
              if (id === lead) {
                await waitFor('a leader again', async () => (await holder()) !== '' && (await leaseRenewedSince(killedAt)), 60_000, 100);
                recovered('leader crash to a leader acting again (ms)', Date.now() - killedAt);
              }
            }
            break;
          }
          case 'kube-apiserver restart': {
            restartApiserver();
            count(f.kind);
            const down = Date.now();
            await apiUp();
            recovered('kube-apiserver restart (ms until it answers)', Date.now() - down);
            break;
          }
          case 'etcd compaction': {
            const etcd = `http://127.0.0.1:${process.env.LATHE_ETCD_PORT ?? '12379'}`;
            const range = (await (await fetch(`${etcd}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) })).json()) as { header: { revision: string } };
            const res = await fetch(`${etcd}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: range.header.revision, physical: true }) });
            if (!res.ok) throw new Error(`etcd compaction: ${res.status} ${await res.text()}`);
            count(f.kind);
            break;
          }
          case 'S3 outage': {
            sh(path.join(repoRoot, 'hack/s3.sh'), ['down']);
            count(f.kind);
            await sleep(o.faults.s3OutageMs);
            sh(path.join(repoRoot, 'hack/s3.sh'), ['up']);
            break;
          }
          case 'status conflict': {
            const r = pick(await candidates(live));
            await custom.patchNamespacedCustomObjectStatus(
              { ...api, namespace: ns, plural: 'trainingruns', name: r.metadata.name, body: { status: { message: 'chaos: written by a second writer' } }, fieldManager: 'chaos-writer' },
              mergePatch(),
            );
            count(f.kind);
            break;
          }
          case 'Job deleted by hand': {
            // Any run with a Job: a Running one gets a new attempt, a Pending one its Job again.
            const r = pick(await candidates(async () => (await live()).filter((r2) => r2.status?.jobName)));
            const job = r.status!.jobName!;
            await batch.deleteNamespacedJob({ name: job, namespace: ns, propagationPolicy: 'Background' }).catch((err: unknown) => {
              if (statusCode(err) !== 404) throw err;
            });
            count(f.kind);
            break;
          }
          case 'resume a suspended run': {
            const name = resumable.shift();
            if (name) await custom.patchNamespacedCustomObject({ ...api, namespace: ns, plural: 'trainingruns', name, body: { spec: { suspend: false } } }, mergePatch());
            break;
          }
          case 'roll a service to a broken model': {
            const name = toBreak.shift();
            if (!name) break;
            // Only once it has served the good model, so there is something to roll back to.
            await waitFor(`${name} Ready on the good model`, async () => {
              const s = (await custom.getNamespacedCustomObject({ ...api, namespace: ns, plural: 'inferenceservices', name })) as Obj<IsvcStatus & { lastReadyModelUri?: string }>;
              return s.status?.lastReadyModelUri === GOOD_MODEL;
            }, 120_000, 250);
            await custom.patchNamespacedCustomObject(
              { ...api, namespace: ns, plural: 'inferenceservices', name, body: { spec: { model: { uri: BROKEN_MODEL }, podMetadata: { annotations: { 'sim.lathe.dev/ready': 'false' } } } } },
              mergePatch(),
            );
            break;
          }
        }
      } catch (err) {
        log(`[chaos] fault "${f.kind}" at ${f.at} ms could not be injected: ${(err as Error).message}`);
      }
    }
    for (const name of resumable) await custom.patchNamespacedCustomObject({ ...api, namespace: ns, plural: 'trainingruns', name, body: { spec: { suspend: false } } }, mergePatch());
    log(`[chaos] faults done after ${Math.round((Date.now() - t0) / 1000)} s; settling`);

    // ---- settle: every run decided, every service Ready or rolled back ----
    const listRuns = async () => ((await custom.listNamespacedCustomObject({ ...api, namespace: ns, plural: 'trainingruns' })) as { items: Obj<RunStatus>[] }).items;
    const listServices = async () => ((await custom.listNamespacedCustomObject({ ...api, namespace: ns, plural: 'inferenceservices' })) as { items: Obj<IsvcStatus>[] }).items;
    const cond = (o2: Obj<unknown>, type: string) => o2.status?.conditions?.find((c) => c.type === type);
    const settled = async () => {
      const runs = await listRuns();
      const services = await listServices();
      const open = runs.filter((r) => !['Succeeded', 'Failed'].includes(r.status?.phase ?? '')).length;
      const unsettled = services.filter((s) => cond(s, 'Ready')?.status !== 'True' && cond(s, 'RolledBack')?.status !== 'True').length;
      return open === 0 && unsettled === 0 ? { runs, services } : undefined;
    };
    let final: { runs: Obj<RunStatus>[]; services: Obj<IsvcStatus>[] } | undefined;
    try {
      final = await waitFor('the workload to settle', settled, o.settleTimeoutMs, 1_000);
    } catch {
      final = { runs: await listRuns(), services: await listServices() };
    }
    const settledAt = Date.now();

    // ---- at rest: no writes from either replica ----
    const writes = async () => {
      let n = 0;
      for (const op of operators.values()) n += metricSum(await op.metrics().catch(() => ''), 'lathe_api_writes_total');
      return n;
    };
    await sleep(3_000); // the last status write's Event and record
    const before = await writes();
    await sleep(o.restMs);
    const atRest = (await writes()) - before;
    // Watches the API server ended with 410 Gone (after the compaction), each answered with a relist.
    let gone = 0;
    for (const op of operators.values()) gone += metricSum(await op.metrics().catch(() => ''), 'lathe_informer_restarts_total', { reason: 'gone' });
    stopping = true;
    await Promise.all([supervisor, trainer]);

    // ---- invariants ----
    const invariants: Invariant[] = [];
    const check = (name: string, items: string[], bad: (x: string) => string | undefined) => {
      const violations = items.map(bad).filter((v): v is string => v !== undefined);
      invariants.push({ name, checked: items.length, violations });
    };
    const jobs = (await batch.listNamespacedJob({ namespace: ns })).items;
    const byRun = new Map<string, V1Job[]>();
    for (const j of jobs) {
      const r = j.metadata!.labels?.['lathe.dev/training-run'] ?? '';
      byRun.set(r, [...(byRun.get(r) ?? []), j]);
    }
    const runs = new Map(final.runs.map((r) => [r.metadata.name, r]));
    const names = [...runs.keys()];
    check('at most one Job per attempt, none beyond status.attempts', names, (n) => {
      const attempts = (byRun.get(n) ?? []).map((j) => Number(j.metadata!.labels?.['lathe.dev/attempt'] ?? 0));
      if (new Set(attempts).size !== attempts.length) return `${n}: attempts ${attempts.join(',')}`;
      const max = runs.get(n)!.status?.attempts ?? 1;
      return attempts.some((a) => a > max) ? `${n}: Job of attempt ${Math.max(...attempts)} > status.attempts ${max}` : undefined;
    });
    check('every run decided: Succeeded, or Failed with the trainer\'s message', names, (n) => {
      const r = runs.get(n)!;
      const want = n.endsWith('-bad') ? 'Failed' : 'Succeeded';
      if (r.status?.phase !== want) return `${n}: ${r.status?.phase ?? 'no phase'} (${r.status?.message ?? ''}), expected ${want}`;
      if (want === 'Failed' && !r.status.message?.includes(BAD_INPUT)) return `${n}: Failed without the trainer's message: ${r.status.message ?? ''}`;
      return undefined;
    });
    const read = async (uri: string): Promise<string | undefined> => {
      const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
      if (!m) return undefined;
      try {
        return await (await (storage).send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }))).Body!.transformToString();
      } catch {
        return undefined;
      }
    };
    const succeeded = names.filter((n) => runs.get(n)!.status?.phase === 'Succeeded');
    const records: Record<string, string | undefined> = {};
    for (const n of succeeded) {
      const a = runs.get(n)!.status?.artifact;
      const metadata = a?.metadataUri ? await read(a.metadataUri) : undefined;
      const record = a?.recordUri ? await read(a.recordUri) : undefined;
      records[n] = !a?.uri ? 'no status.artifact' : !metadata || !parseMetadata(JSON.parse(metadata)).ok ? 'metadata.json missing or invalid' : !record || (JSON.parse(record) as { phase?: string }).phase !== 'Succeeded' ? 'run.json missing or not Succeeded' : undefined;
    }
    check('every Succeeded run has status.artifact, a valid metadata.json and run.json in S3', succeeded, (n) => (records[n] ? `${n}: ${records[n]}` : undefined));
    check('no status left as a second writer wrote it', names, (n) => (runs.get(n)!.status?.message?.startsWith('chaos:') ? `${n}: ${runs.get(n)!.status!.message}` : undefined));
    const services = new Map(final.services.map((s) => [s.metadata.name, s]));
    check('every service Ready on its model, or rolled back to the good one and saying so', [...services.keys()], (n) => {
      const s = services.get(n)!;
      if (broken.has(n)) {
        return cond(s, 'RolledBack')?.status === 'True' && s.status?.servingModelUri === GOOD_MODEL ? undefined : `${n}: ${s.status?.message ?? 'no message'}`;
      }
      return cond(s, 'Ready')?.status === 'True' && s.status?.servingModelUri === GOOD_MODEL ? undefined : `${n}: ${s.status?.message ?? 'no message'}`;
    });
    const crashes = unexpectedExits.filter((e) => !e.includes('leader election lost'));
    invariants.push({ name: 'the operator never crashed (exits other than a lost Lease, which it is built to exit on)', checked: unexpectedExits.length, violations: crashes });
    invariants.push({ name: `no writes at rest (${Math.round(o.restMs / 1000)} s after everything settled)`, checked: 1, violations: atRest === 0 ? [] : [`${atRest} writes`] });

    log(`[chaos] settled ${Math.round((settledAt - t0) / 1000)} s after the faults began`);
    return { seed: o.seed, runs: o.runs, services: o.services, faults, recovery, invariants, unexpectedExits, watchesGone: gone, durationMs: Date.now() - started };
  } finally {
    stopping = true;
    await supervisor;
    for (const op of operators.values()) await op.stop();
    await deleteNamespace(core, ns).catch(() => undefined);
  }
}

/**
 * SIGKILL to the local kube-apiserver, then the same command line again (read from /proc), as a
 * crashed static pod comes back: watches break mid-stream and every client reconnects.
 */
function restartApiserver(): void {
  const pidFile = path.join(repoRoot, '.cluster/pids/kube-apiserver.pid');
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
      execFileSync('sleep', ['0.1']);
    } catch {
      break;
    }
  }
  const out = openSync(path.join(repoRoot, '.cluster/logs/kube-apiserver.log'), 'a');
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  writeFileSync(pidFile, `${child.pid}\n`);
}

/** client-node's patch calls take their Content-Type from this option. */
function mergePatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}

export function formatReport(r: ChaosReport): string {
  const lines = [`chaos round, seed ${r.seed} (replay: LATHE_CHAOS_SEED=${r.seed}), ${r.runs} TrainingRuns, ${r.services} InferenceServices, ${Math.round(r.durationMs / 1000)} s`, ''];
  lines.push('| fault injected | count |', '| --- | --- |');
  for (const [k, v] of Object.entries(r.faults).sort()) lines.push(`| ${k} | ${v} |`);
  lines.push('', '| invariant | checked | held |', '| --- | --- | --- |');
  for (const i of r.invariants) lines.push(`| ${i.name} | ${i.checked} | ${i.violations.length === 0 ? 'yes' : `NO: ${i.violations.slice(0, 5).join('; ')}${i.violations.length > 5 ? ` (+${i.violations.length - 5})` : ''}`} |`);
  lines.push('', '| recovery | n | p50 | max |', '| --- | --- | --- | --- |');
  for (const [k, xs] of Object.entries(r.recovery)) lines.push(`| ${k} | ${xs.length} | ${percentile(xs, 50)} | ${Math.max(...xs)} |`);
  lines.push('', `watches ended with 410 Gone and relisted (replicas alive at the end): ${r.watchesGone}`);
  if (r.unexpectedExits.length) lines.push('', 'operator exits not caused by the suite:', ...r.unexpectedExits.map((e) => `  ${e}`));
  return lines.join('\n');
}

