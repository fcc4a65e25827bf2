// The operator's own Kubernetes client against the real API server: each way of authenticating it
// supports (checked by asking the server who we are, with a SelfSubjectReview), the verbs the
// reconcilers use, the server's errors, and watches.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fromKubeconfigFiles } from '../../src/client/cluster-access.js';
import { KubeApiError } from '../../src/client/errors.js';
import { CONTENT_TYPES, KubeClient, resourcePath, type WatchEventType } from '../../src/client/kube-client.js';
import { createTestNamespace, kubeconfigPath, waitFor, type TestNamespace } from '../../../test/support/cluster.js';

interface Review {
  status: { userInfo: { username: string } };
}

async function whoAmI(client: KubeClient): Promise<string> {
  const review = await client.create<Review>('/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
  return review.status.userInfo.username;
}

describe('KubeClient against the API server', () => {
  let ns: TestNamespace;
  let client: KubeClient;
  let dir: string;
  let saToken: string;
  const configmaps = () => resourcePath({ version: 'v1', plural: 'configmaps', namespace: ns.name });
  const configmap = (name: string) => resourcePath({ version: 'v1', plural: 'configmaps', namespace: ns.name, name });

  beforeAll(async () => {
    ns = await createTestNamespace('lathe-client');
    client = ns.client; // closed by ns.cleanup()
    dir = mkdtempSync(path.join(tmpdir(), 'lathe-client-'));
    await client.create(resourcePath({ version: 'v1', plural: 'serviceaccounts', namespace: ns.name }), { metadata: { name: 'robot' } });
    const tr = await client.create<{ status: { token: string } }>(resourcePath({ version: 'v1', plural: 'serviceaccounts', namespace: ns.name, name: 'robot', subresource: 'token' }), {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 3600 },
    });
    saToken = tr.status.token;
  });
  afterAll(async () => {
    await ns?.cleanup();
  });

  /** A kubeconfig for the test cluster's server and CA with `user` as the identity. */
  function kubeconfigWith(user: object): string {
    const admin = fromKubeconfigFiles([kubeconfigPath()]);
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}`);
    writeFileSync(
      file,
      stringify({
        'current-context': 't',
        clusters: [{ name: 't', cluster: { server: admin.server, 'certificate-authority-data': admin.tls.ca?.toString('base64') } }],
        users: [{ name: 't', user }],
        contexts: [{ name: 't', context: { cluster: 't', user: 't' } }],
      }),
    );
    return file;
  }

  it('authenticates with the client certificate of the admin kubeconfig', async () => {
    expect(client.access.tls.cert).toBeDefined();
    const me = await whoAmI(client);
    expect(me).not.toMatch(/^system:(anonymous|serviceaccount:)/);
  });

  it('authenticates as a ServiceAccount with a token, a token file and an exec plugin', async () => {
    const expected = `system:serviceaccount:${ns.name}:robot`;
    writeFileSync(path.join(dir, 'token'), saToken);
    const plugin = path.join(dir, 'plugin.mjs');
    writeFileSync(plugin, `console.log(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: ${JSON.stringify(saToken)} } }));`);
    for (const user of [{ token: saToken }, { tokenFile: path.join(dir, 'token') }, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [plugin] } }]) {
      const c = new KubeClient(fromKubeconfigFiles([kubeconfigWith(user)]));
      expect(await whoAmI(c)).toBe(expected);
      c.close();
    }
  });

  it('after a 401, retries once with a freshly read token', async () => {
    const file = path.join(dir, 'rotating-token');
    writeFileSync(file, 'not-a-valid-token');
    const access = fromKubeconfigFiles([kubeconfigWith({ tokenFile: file })]);
    expect(await access.token()).toBe('not-a-valid-token'); // cached now, as if rotated since
    writeFileSync(file, saToken);
    const c = new KubeClient(access);
    expect(await whoAmI(c)).toBe(`system:serviceaccount:${ns.name}:robot`);
    c.close();
    writeFileSync(file, 'still-invalid');
    const bad = new KubeClient(fromKubeconfigFiles([kubeconfigWith({ tokenFile: file })]));
    const err = await whoAmI(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).statusCode).toBe(401);
    bad.close();
  });

  it('creates, reads, patches (merge, JSON, apply), replaces and deletes', async () => {
    await client.create(configmaps(), { metadata: { name: 'cm' }, data: { a: '1' } }, { fieldManager: 'lathe-test' });
    await client.patch(configmap('cm'), { data: { b: '2' } }, CONTENT_TYPES.mergePatch);
    await client.patch(configmap('cm'), [{ op: 'add', path: '/data/c', value: '3' }], CONTENT_TYPES.jsonPatch);
    const applied = await client.apply<V1ConfigMap>(configmap('cm'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { d: '4' } }, 'lathe-test-apply');
    expect(applied.data).toEqual({ a: '1', b: '2', c: '3', d: '4' });
    expect(applied.metadata?.managedFields?.map((f) => f.manager)).toContain('lathe-test-apply');
    expect(typeof applied.metadata?.creationTimestamp).toBe('string'); // plain JSON, as watch events
    const replaced = await client.replace<V1ConfigMap>(configmap('cm'), { ...applied, data: { only: 'this' } });
    expect((await client.get<V1ConfigMap>(configmap('cm'))).data).toEqual({ only: 'this' });
    expect(replaced.metadata?.resourceVersion).not.toBe(applied.metadata?.resourceVersion);
    await client.delete(configmap('cm'));
    const gone = await client.get(configmap('cm')).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(KubeApiError);
    expect((gone as KubeApiError).statusCode).toBe(404);
    expect((gone as KubeApiError).status?.reason).toBe('NotFound');
  });

  it("returns the server's own words for conflicts and invalid objects", async () => {
    await client.create(configmaps(), { metadata: { name: 'dup' } });
    const conflict = (await client.create(configmaps(), { metadata: { name: 'dup' } }).catch((e: unknown) => e)) as KubeApiError;
    expect(conflict.statusCode).toBe(409);
    expect(conflict.message).toContain('already exists');
    const invalid = (await client.create(configmaps(), { metadata: { name: 'Not_A_Name' } }).catch((e: unknown) => e)) as KubeApiError;
    expect(invalid.statusCode).toBe(422);
    expect(invalid.message).toContain('metadata.name');
    const stale = (await client
      .replace(configmap('dup'), { metadata: { name: 'dup', resourceVersion: '1' } })
      .catch((e: unknown) => e)) as KubeApiError;
    expect(stale.statusCode).toBe(409);
  });

  it('watches from a resourceVersion and stops calling back once aborted', async () => {
    const list = await client.get<{ metadata: { resourceVersion: string } }>(configmaps());
    const events: Array<[WatchEventType, string]> = [];
    let done = 0;
    const handle = await client.watch(
      configmaps(),
      { resourceVersion: list.metadata.resourceVersion, labelSelector: 'watched=yes' },
      (type, obj) => events.push([type, (obj as V1ConfigMap).metadata?.name ?? '']),
      () => done++,
    );
    await client.create(configmaps(), { metadata: { name: 'w', labels: { watched: 'yes' } } });
    await client.create(configmaps(), { metadata: { name: 'unwatched' } });
    await client.patch(configmap('w'), { data: { x: 'y' } }, CONTENT_TYPES.mergePatch);
    await client.delete(configmap('w'));
    await waitFor('three watch events', () => events.length >= 3, 10_000, 20);
    expect(events).toEqual([
      ['ADDED', 'w'],
      ['MODIFIED', 'w'],
      ['DELETED', 'w'],
    ]);
    handle.abort();
    await client.create(configmaps(), { metadata: { name: 'after', labels: { watched: 'yes' } } });
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toHaveLength(3);
    expect(done).toBe(0);
  });

  it('ends a watch the server closes (timeoutSeconds) with onDone and no error', async () => {
    const ended = await new Promise<unknown>((resolve) => {
      void client.watch(configmaps(), { timeoutSeconds: 1 }, () => undefined, resolve);
    });
    expect(ended).toBeUndefined();
  });
});
