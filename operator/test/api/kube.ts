// What only the API integration tests need beyond test/support/cluster.ts: the CRDs installed as
// committed (checked against the generator), and the API server's words from a refused request.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { statusCode } from '../../src/client/errors.js';
import { ApiException, PatchStrategy, loadYaml, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { renderAll } from '../../src/api/generate-crds.js';
import { repoRoot as REPO, sleep, type Clients } from '../../../test/support/cluster.js';

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
