// kubectl-lathe against the real cluster: installed with `npm install -g ./cli` (as the README says)
// and found by kubectl as a plugin; `logs -f` waits for a real trainer pod on the real node and
// follows it to its end; `curve` reads the metrics history the real trainer wrote; `generate`
// streams a completion from a real serving pod; `runs --history` lists the run once its object is
// deleted; unknown names, a malformed history in S3 and an unreachable API server each give one
// clear line.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, ensureCrds, repoRoot, waitFor } from '../support/cluster.js';
import { ON_REAL_NODE, startLoopSuite, stopLoopSuite, tinyRun, type LoopSuite, type Seed } from '../support/real-node.js';

const { kc, core } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const s3 = new S3Client({ forcePathStyle: true });
const group = { group: 'lathe.dev', version: 'v1alpha1' } as const;
let ns = '';
let seed: Seed;
let pluginPath = '';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `kubectl lathe ARGS`: kubectl finds the installed plugin on PATH. */
function lathe(args: string[], env: NodeJS.ProcessEnv = {}): Result {
  const r = spawnSync(process.env.KUBECTL ?? 'kubectl', ['lathe', ...args], { encoding: 'utf8', env: { ...process.env, PATH: pluginPath, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same, running in the background until it exits by itself. */
function latheUntilExit(args: string[], timeoutMs: number): Promise<Result> {
  const proc = spawn(process.env.KUBECTL ?? 'kubectl', ['lathe', ...args], { env: { ...process.env, PATH: pluginPath }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill();
      reject(new Error(`kubectl lathe ${args.join(' ')} still running after ${timeoutMs} ms\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function phase(name: string): Promise<string | undefined> {
  const obj = (await custom.getNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', name })) as { status?: { phase?: string } };
  return obj.status?.phase;
}

let suite: LoopSuite | undefined;

beforeAll(async () => {
  // The README's one command, into a prefix of its own instead of the machine's global one.
  const prefix = mkdtempSync(path.join(tmpdir(), 'lathe-plugin-'));
  const npm = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', path.join(repoRoot, 'cli')], { encoding: 'utf8' });
  if (npm.status !== 0) throw new Error(`npm install -g ./cli failed: ${npm.stderr}`);
  pluginPath = `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`;
  suite = await startLoopSuite(core, 'plugin', ensureCrds);
  ({ ns, seed } = suite);
});

afterAll(() => stopLoopSuite(core, suite));

describe('kubectl lathe against the real node', () => {
  const run = 'plugin-stories';
  const service = 'plugin-writer';

  it('is found by kubectl as a plugin, and says what to do about a bad name or an unreachable API server', () => {
    const help = lathe(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/kubectl lathe runs/);
    const unknown = lathe(['logs', 'no-such-run', '-n', ns]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`error: no TrainingRun no-such-run in namespace ${ns}`);
    expect(lathe(['generate', 'no-such-service', 'hi', '-n', ns]).stderr).toContain(`error: no InferenceService no-such-service in namespace ${ns}`);
    // Nothing listens on port 1: the same refusal as an API server that is down.
    const kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'lathe-kc-')), 'config');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n');
    const down = lathe(['runs'], { KUBECONFIG: kubeconfig });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the API server at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  });

  it('logs -f waits for the trainer pod and follows it until the trainer exits', async () => {
    await custom.createNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', body: tinyRun(run, seed).manifest() });
    const followed = await latheUntilExit(['logs', run, '-n', ns, '-f'], 300_000);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toMatch(/epoch 3\/3 starts/);
    expect(followed.stdout).toMatch(/metadata\.json written/);
    expect(followed.stderr).toMatch(/\[lathe\] logs of pod plugin-stories-1-/);
    const listed = await waitFor('the run to be Succeeded in kubectl lathe runs', async () => {
      const r = lathe(['runs', '-n', ns]);
      return (await phase(run)) === 'Succeeded' && /Succeeded/.test(r.stdout) ? r : undefined;
    }, 60_000, 1000);
    expect(listed.stdout).toMatch(new RegExp(`^${run}\\s+Succeeded\\s+3/3(?: step \\d+/\\d+)?\\s+[\\d.]+\\s+\\S+\\s+0\\s+s3://lathe-artifacts/models/${run}/\\S+/checkpoint/$`, 'm'));
  });

  it('curve prints the metrics history the trainer wrote; a malformed one is named, with what to do', async () => {
    const r = lathe(['curve', run, '-n', ns, '--rows', '1000']);
    expect(r.code, r.stderr).toBe(0);
    const obj = (await custom.getNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', name: run })) as { status: { runId: string } };
    const key = `models/${run}/${obj.status.runId}/metrics-history.json`;
    const stored = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: 'lathe-artifacts', Key: key }))).Body!.transformToString()) as { points: { step: number }[] };
    const steps = r.stdout.trimEnd().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0]));
    expect(steps).toEqual(stored.points.map((p) => p.step));
    expect(r.stdout.split('\n')[0]).toMatch(/^STEP\s+EPOCH\s+LOSS\s+LEARNING-RATE\s+EVAL-LOSS/);

    await s3.send(new PutObjectCommand({ Bucket: 'lathe-artifacts', Key: key, Body: JSON.stringify({ ...stored, points: [{ step: 'one' }] }) }));
    const bad = lathe(['curve', run, '-n', ns]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`error: s3://lathe-artifacts/${key} is malformed: metrics-history.json: /points/0`);
    await s3.send(new PutObjectCommand({ Bucket: 'lathe-artifacts', Key: key, Body: JSON.stringify(stored) }));
  });

  it('generate streams a completion from a real serving pod, and refuses a service that is not Ready yet', async () => {
    await custom.createNamespacedCustomObject({
      ...group,
      namespace: ns,
      plural: 'inferenceservices',
      body: { apiVersion: 'lathe.dev/v1alpha1', kind: 'InferenceService', metadata: { name: service }, spec: { model: { trainingRun: run }, task: 'text-generation', replicas: { min: 1, max: 1 }, resources: { gpus: 0, cpu: '1', memory: '3Gi' }, ...ON_REAL_NODE } },
    });
    const early = lathe(['generate', service, 'the red cat', '-n', ns]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(new RegExp(`error: InferenceService ${service} is not Ready`));
    await waitFor(`InferenceService ${service} to be Ready`, async () => {
      const obj = (await custom.getNamespacedCustomObject({ ...group, namespace: ns, plural: 'inferenceservices', name: service })) as { status?: { conditions?: { type: string; status: string }[] } };
      return obj.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 240_000, 1000);
    const r = lathe(['generate', service, 'the red cat', '-n', ns, '--max-tokens', '8', '--temperature', '0']);
    process.stdout.write(`[plugin] generate: "the red cat" -> ${JSON.stringify(r.stdout)}\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
    expect(r.stderr).toContain(`[lathe] port-forward to service/${service}`);
  });

  it('runs --history lists the run once its object is deleted, from run.json and metadata.json in S3', async () => {
    await custom.deleteNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', name: run });
    await waitFor('the TrainingRun to be gone', async () => {
      try {
        await phase(run);
        return false;
      } catch {
        return true;
      }
    }, 60_000, 500);
    expect(lathe(['runs', '-n', ns]).stdout).not.toContain(run);
    const r = lathe(['runs', '-n', ns, '--history']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${run}\\s+Succeeded\\s+3/3(?: step \\d+/\\d+)?\\s+[\\d.]+\\s+\\S+\\s+0\\s+s3://lathe-artifacts/models/${run}/\\S+/checkpoint/\\s+deleted$`, 'm'));
    expect(r.stderr).toMatch(/\[lathe\] reading run records from s3:\/\/lathe-artifacts\/models\//);
    // A deleted run's curve is still there, found through its record.
    const c = lathe(['curve', run, '-n', ns]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^STEP/);
  });
});
