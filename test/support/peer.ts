// The peer of `make bench`: Kubeflow Trainer v2 and the JobSet controller it drives (hack/tools.sh
// builds both from Go modules), run out of cluster against the local control plane as Kueue is
// (test/support/kueue.ts), with one ClusterTrainingRuntime shaped like the bench's TrainingRuns.
//
// What running them out of cluster takes (Trainer 2.1.0, JobSet 0.10.1):
// - their own certificate management off (both would write a Secret and patch webhook configurations
//   that point at an in-cluster Service); one self-signed certificate for 127.0.0.1 serves both
//   webhook servers instead. Trainer's config has no certDir, so its webhook server reads
//   controller-runtime's default $TMPDIR/k8s-webhook-server/serving-certs: TMPDIR is set per process.
// - their webhooks registered with the API server as they are in the releases' manifests, with a
//   `clientConfig.url` on 127.0.0.1 in place of the Service: JobSet's defaulting webhook is part of
//   how a JobSet works (the controller relies on the defaults it sets), and the validating ones are
//   on the create path that the bench times, so leaving any out would flatter the peer.
// - JobSet's metrics endpoint is HTTPS behind TokenReview and SubjectAccessReview in 0.10.1 whatever
//   the config says, so a ServiceAccount allowed `get /metrics` is made and its token used to read it.
//   Trainer's has a switch (metrics.secureServing), set off.
// - leader election off for both (one replica each; Lathe's bench runs its operator the same way).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { kubectl, waitFor } from './cluster.js';
import { freePort, spawnLogged, type LoggedProcess } from './process.js';
import { crdsEstablished, selfSignedCert, tool } from './out-of-cluster.js';

/** The ClusterTrainingRuntime every bench TrainJob refers to. */
export const PEER_RUNTIME = 'lathe-bench-torch';
const PREFIX = 'lathe-bench-peer';
const METRICS_SA = { namespace: 'default', name: `${PREFIX}-metrics` };

const apply = (objects: object[]) => kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));

/** GET over HTTPS that trusts the (self-signed) serving certificate: only ever 127.0.0.1. */
function httpsGet(url: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`GET ${url}: ${res.statusCode} ${body.slice(0, 200)}`));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** One webhook of a release's manifest, served at `port` on 127.0.0.1 instead of through its Service. */
function webhook(name: string, port: number, urlPath: string, group: string, version: string, resource: string, operations: string[], caBundle: string, objectSelector?: object): object {
  return {
    name,
    admissionReviewVersions: ['v1'],
    clientConfig: { url: `https://127.0.0.1:${port}${urlPath}`, caBundle },
    failurePolicy: 'Fail',
    sideEffects: 'None',
    rules: [{ apiGroups: [group], apiVersions: [version], operations, resources: [resource] }],
    ...(objectSelector ? { objectSelector } : {}),
  };
}

/**
 * The runtime: torch, one node, one container as small as the bench's TrainingRuns (cpu 10m,
 * memory 16Mi) with the same security context, and no node selector or tolerations, as Lathe's
 * Jobs for a CPU run have none: both land on the same untainted kwok nodes.
 */
function runtime(): object {
  return {
    apiVersion: 'trainer.kubeflow.org/v1alpha1',
    kind: 'ClusterTrainingRuntime',
    metadata: { name: PEER_RUNTIME, labels: { 'trainer.kubeflow.org/framework': 'torch' } },
    spec: {
      mlPolicy: { numNodes: 1, torch: { numProcPerNode: 1 } },
      template: {
        spec: {
          replicatedJobs: [
            {
              name: 'node',
              template: {
                metadata: { labels: { 'trainer.kubeflow.org/trainjob-ancestor-step': 'trainer' } },
                spec: {
                  template: {
                    spec: {
                      automountServiceAccountToken: false,
                      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
                      containers: [
                        {
                          name: 'node',
                          image: 'ghcr.io/lathe-dev/lathe-trainer:0.1.0',
                          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '16Mi' } },
                          securityContext: { allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
                        },
                      ],
                    },
                  },
                },
              },
            },
          ],
        },
      },
    },
  };
}

/** A TrainJob on the bench runtime; `suspend` as a TrainingRun's. */
export function trainJob(name: string, suspend = false): object {
  return {
    apiVersion: 'trainer.kubeflow.org/v1alpha1',
    kind: 'TrainJob',
    metadata: { name },
    spec: { runtimeRef: { apiGroup: 'trainer.kubeflow.org', kind: 'ClusterTrainingRuntime', name: PEER_RUNTIME }, suspend },
  };
}

export interface PeerProcess {
  /** The controllers' process ids (CPU and RSS from /proc). */
  pids(): { trainer: number; jobset: number };
  /** Prometheus text of each controller's metrics endpoint. */
  metrics(): Promise<{ trainer: string; jobset: string }>;
  /** Stops both controllers and starts them again (same config, webhooks left registered); resolves when both are healthy. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Installs JobSet's and Trainer's CRDs (the releases of the binaries), registers their webhooks,
 * starts both controllers and applies the bench runtime; resolves when both are healthy.
 */
export async function startPeer(): Promise<PeerProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lathe-peer-'));
  const certDir = path.join(dir, 'k8s-webhook-server', 'serving-certs');
  selfSignedCert(certDir);
  const caBundle = readFileSync(path.join(certDir, 'tls.crt')).toString('base64');
  const [jsHealth, jsMetrics, jsWebhook, trHealth, trMetrics, trWebhook] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const made: { kind: string; name: string; namespace?: string }[] = [];
  let trainer: LoggedProcess | undefined;
  let jobset: LoggedProcess | undefined;

  const stop = async () => {
    // Webhooks first: with failurePolicy Fail, a registered webhook whose server is gone would
    // refuse every JobSet (and JobSet pod) create on the cluster.
    // Each step on its own: one that fails must not leave the rest (and the processes) behind.
    const attempt = (args: string[]) => {
      try {
        kubectl(args);
      } catch (err) {
        process.stderr.write(`[peer] kubectl ${args.join(' ')}: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    };
    for (const m of [...made].reverse()) attempt(['delete', m.kind, m.name, ...(m.namespace ? ['-n', m.namespace] : []), '--ignore-not-found', '--timeout=60s']);
    // The CRDs while the controllers still run: any finalizer they put on their objects is removed.
    attempt(['delete', '-f', tool('trainer-crds'), '--ignore-not-found', '--timeout=300s']);
    attempt(['delete', '-f', tool('jobset-crds'), '--ignore-not-found', '--timeout=300s']);
    await trainer?.terminate();
    await jobset?.terminate();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    kubectl(['apply', '--server-side', '--force-conflicts', '-f', tool('jobset-crds'), '-f', tool('trainer-crds')]);
    await crdsEstablished(['jobsets.jobset.x-k8s.io', 'trainjobs.trainer.kubeflow.org', 'trainingruntimes.trainer.kubeflow.org', 'clustertrainingruntimes.trainer.kubeflow.org']);

    // The token JobSet's metrics endpoint asks for.
    apply([
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: METRICS_SA },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `${PREFIX}-metrics` }, rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${PREFIX}-metrics` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${PREFIX}-metrics` }, subjects: [{ kind: 'ServiceAccount', ...METRICS_SA }] },
    ]);
    made.push({ kind: 'serviceaccount', ...METRICS_SA }, { kind: 'clusterrole', name: `${PREFIX}-metrics` }, { kind: 'clusterrolebinding', name: `${PREFIX}-metrics` });
    const token = kubectl(['create', 'token', METRICS_SA.name, '-n', METRICS_SA.namespace, '--duration=24h']).trim();

    const jobsetConfig = {
      apiVersion: 'config.jobset.x-k8s.io/v1alpha1',
      kind: 'Configuration',
      webhook: { port: jsWebhook, host: '127.0.0.1', certDir },
      metrics: { bindAddress: `127.0.0.1:${jsMetrics}` },
      health: { healthProbeBindAddress: `127.0.0.1:${jsHealth}` },
      leaderElection: { leaderElect: false },
      internalCertManagement: { enable: false },
    };
    // Trainer's shipped config (manifests/base/manager) but for the addresses, leader election and
    // certificates; its TrainJob concurrency (5) is kept.
    const trainerConfig = {
      apiVersion: 'config.trainer.kubeflow.org/v1alpha1',
      kind: 'Configuration',
      webhook: { port: trWebhook, host: '127.0.0.1' },
      metrics: { bindAddress: `127.0.0.1:${trMetrics}`, secureServing: false },
      health: { healthProbeBindAddress: `127.0.0.1:${trHealth}`, readinessEndpointName: 'readyz', livenessEndpointName: 'healthz' },
      controller: { groupKindConcurrency: { 'TrainJob.trainer.kubeflow.org': 5, 'TrainingRuntime.trainer.kubeflow.org': 1, 'ClusterTrainingRuntime.trainer.kubeflow.org': 1 } },
      certManagement: { enable: false },
    };
    writeFileSync(path.join(dir, 'jobset.yaml'), JSON.stringify(jobsetConfig));
    writeFileSync(path.join(dir, 'trainer.yaml'), JSON.stringify(trainerConfig));
    const env = { ...process.env, TMPDIR: dir };
    const spawnBoth = async () => {
      jobset = spawnLogged(tool('jobset'), [`--config=${path.join(dir, 'jobset.yaml')}`, '--zap-log-level=error'], { env }, 3000);
      trainer = spawnLogged(tool('trainer'), [`--config=${path.join(dir, 'trainer.yaml')}`, '--zap-log-level=error'], { env }, 3000);
      for (const [name, p, port] of [['JobSet', jobset, jsHealth], ['Trainer', trainer, trHealth]] as const) {
        await waitFor(`${name} to be healthy`, async () => {
          if (p.child.exitCode !== null) throw new Error(`${name} exited with ${p.child.exitCode}:\n${p.logs.slice(-30).join('\n')}`);
          try {
            return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok || undefined;
          } catch {
            return undefined;
          }
        }, 120_000);
      }
    };
    await spawnBoth();

    // The releases' webhooks (config/components/webhook of JobSet with its objectSelector patches;
    // manifests/base/webhook of Trainer), served on 127.0.0.1.
    const podSelector = { matchExpressions: [{ key: 'jobset.sigs.k8s.io/jobset-name', operator: 'Exists' }] };
    const v1a2 = ['jobset.x-k8s.io', 'v1alpha2', 'jobsets'] as const;
    const tr = (r: string, p: string) => webhook(`validator.${r.slice(0, -1)}.trainer.kubeflow.org`, trWebhook, `/validate-trainer-kubeflow-org-v1alpha1-${p}`, 'trainer.kubeflow.org', 'v1alpha1', r, ['CREATE', 'UPDATE'], caBundle);
    apply([
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: `${PREFIX}-jobset` },
        webhooks: [
          webhook('mjobset.kb.io', jsWebhook, '/mutate-jobset-x-k8s-io-v1alpha2-jobset', ...v1a2, ['CREATE'], caBundle),
          webhook('mpod.kb.io', jsWebhook, '/mutate--v1-pod', '', 'v1', 'pods', ['CREATE'], caBundle, podSelector),
        ],
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: `${PREFIX}-jobset` },
        webhooks: [
          webhook('vjobset.kb.io', jsWebhook, '/validate-jobset-x-k8s-io-v1alpha2-jobset', ...v1a2, ['CREATE', 'UPDATE'], caBundle),
          webhook('vpod.kb.io', jsWebhook, '/validate--v1-pod', '', 'v1', 'pods', ['CREATE'], caBundle, podSelector),
        ],
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: `${PREFIX}-trainer` },
        webhooks: [tr('clustertrainingruntimes', 'clustertrainingruntime'), tr('trainingruntimes', 'trainingruntime'), tr('trainjobs', 'trainjob')],
      },
    ]);
    made.push(
      { kind: 'mutatingwebhookconfiguration', name: `${PREFIX}-jobset` },
      { kind: 'validatingwebhookconfiguration', name: `${PREFIX}-jobset` },
      { kind: 'validatingwebhookconfiguration', name: `${PREFIX}-trainer` },
    );
    // Through Trainer's validating webhook, so this also proves the registration works.
    await waitFor('the bench ClusterTrainingRuntime to be accepted', () => {
      try {
        apply([runtime()]);
        return true;
      } catch {
        return undefined;
      }
    }, 30_000, 500);
    made.push({ kind: 'clustertrainingruntime', name: PEER_RUNTIME });

    return {
      // Read each time: a restart replaces the processes.
      pids: () => ({ trainer: trainer!.child.pid!, jobset: jobset!.child.pid! }),
      metrics: async () => ({
        trainer: await (await fetch(`http://127.0.0.1:${trMetrics}/metrics`)).text(),
        jobset: await httpsGet(`https://127.0.0.1:${jsMetrics}/metrics`, token),
      }),
      restart: async () => {
        await trainer?.terminate();
        await jobset?.terminate();
        await spawnBoth();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
