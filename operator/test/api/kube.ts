// Small helpers for the API integration tests: a client for the cluster named by KUBECONFIG (or
// <repo>/.cluster/kubeconfig from `make cluster`), CRD installation, errors, and the real kubectl.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { statusCode } from '../../src/client/errors.js';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  loadYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { renderAll } from '../../src/api/generate-crds.js';
import { REPO_ROOT as REPO, kubeconfigPath, sleep } from '../support/cluster.js';

export { randomSuffix } from '../support/cluster.js';
const run = promisify(execFile);

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  ext: ApiextensionsV1Api;
  custom: CustomObjectsApi;
  objects: KubernetesObjectApi;
}

export function clients(): Clients {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    ext: kc.makeApiClient(ApiextensionsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

/**
 * Server-side applies the CRDs as committed in crds/ (what users install), after checking that
 * they match the generator (the unit suite checks that too), and waits until they are Established.
 */
export async function installCrds(c: Clients): Promise<string[]> {
  const names: string[] = [];
  for (const [file, generated] of renderAll()) {
    const onDisk = readFileSync(path.join(REPO, 'crds', file), 'utf8');
    if (onDisk !== generated) throw new Error(`crds/${file} is stale: run npm run gen:crds`);
    // client-node serializes typed objects by their model fields (xKubernetesIntOrString, ...):
    // a plain parsed object would lose every x-kubernetes-* key on the way. loadYaml deserializes.
    const crd = loadYaml<V1CustomResourceDefinition>(onDisk);
    await c.objects.patch(crd, undefined, undefined, 'lathe-api-test', true, PatchStrategy.ServerSideApply);
    names.push(crd.metadata!.name!);
  }
  for (const name of names) {
    for (let i = 0; ; i++) {
      const crd = await c.ext.readCustomResourceDefinition({ name });
      const established = crd.status?.conditions?.find((x) => x.type === 'Established')?.status === 'True';
      const names2 = crd.status?.conditions?.find((x) => x.type === 'NamesAccepted');
      if (names2?.status === 'False') throw new Error(`CRD ${name}: names not accepted: ${names2.message}`);
      if (established) break;
      if (i > 100) throw new Error(`CRD ${name} not Established after 30s`);
      await sleep(300);
    }
  }
  return names;
}

/** The API server's Status message of a failed request (its `message`, else the raw body). */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    if (typeof body === 'string') {
      try {
        return String((JSON.parse(body) as { message?: string }).message ?? body);
      } catch {
        return body;
      }
    }
    if (typeof body === 'object' && body !== null && 'message' in body) return String(body.message);
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Runs a promise that must fail; returns the HTTP code and message. */
export async function rejection(p: Promise<unknown>): Promise<{ code: number | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: statusCode(err), message: errorMessage(err) };
  }
  throw new Error('the request was accepted, but it should have been rejected');
}

let kubectlPath: string | undefined;

export async function kubectl(args: string[]): Promise<string> {
  if (kubectlPath === undefined) {
    kubectlPath = process.env.KUBECTL ?? (await run(path.join(REPO, 'hack/tools.sh'), ['path', 'kubectl'], { cwd: REPO })).stdout.trim();
  }
  const { stdout } = await run(kubectlPath, args, { env: { ...process.env, KUBECONFIG: kubeconfigPath() }, maxBuffer: 16 << 20 });
  return stdout;
}

/** Retries `fn` until it returns without throwing (e.g. kubectl explain while OpenAPI is published). */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 30_000, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(intervalMs);
    }
  }
}
