// apiListWatch's HTTP side against a local HTTP server speaking the list/watch wire format:
// pagination, selectors, namespace paths, kind fill-in, per-page transform, errors, and watch
// parameters. (The real API server is exercised by operator/test/runtime/informer.test.ts.)
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubernetesObject } from '@kubernetes/client-node';
import { KubeClient } from '../client/kube-client.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiError, apiListWatch, isGone, type WatchEventType } from './list-watch.js';

interface Served {
  requests: URL[];
  auth: Array<string | undefined>;
}

describe('apiListWatch', () => {
  let server: http.Server;
  let kc: KubeClient;
  let served: Served;
  let handler: (url: URL, res: http.ServerResponse) => void;

  beforeEach(async () => {
    served = { requests: [], auth: [] };
    server = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://localhost');
      served.requests.push(url);
      served.auth.push(req.headers.authorization);
      handler(url, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    kc = new KubeClient({
      server: `http://127.0.0.1:${port}`,
      tls: { rejectUnauthorized: true },
      token: () => Promise.resolve('secret-token'),
      invalidate: () => undefined,
      source: 'test',
    });
  });
  afterEach(async () => {
    kc.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const jobs = Array.from({ length: 5 }, (_, i) => ({ metadata: { name: `j${i}`, namespace: 'ml', resourceVersion: String(10 + i), managedFields: [{ manager: 'x' }] } }));

  function servePages(failContinue = false): void {
    handler = (url, res) => {
      const limit = url.searchParams.get('limit');
      const start = Number(url.searchParams.get('continue') ?? '0');
      if (failContinue && start > 0) {
        res.writeHead(410, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Expired', message: 'The provided continue parameter is too old' }));
        return;
      }
      const size = limit ? Number(limit) : jobs.length;
      const items = jobs.slice(start, start + size);
      const next = start + size < jobs.length ? String(start + size) : undefined;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'JobList', apiVersion: 'batch/v1', metadata: { resourceVersion: '99', continue: next }, items }));
    };
  }

  it('lists every page with the selector, in the namespace, with apiVersion/kind filled in', async () => {
    servePages();
    const lw = apiListWatch<KubernetesObject>(kc, { resource: { group: 'batch', version: 'v1', plural: 'jobs' }, namespace: 'ml', labelSelector: 'app=lathe', pageSize: 2 });
    const seen: string[] = [];
    const { items, resourceVersion } = await lw.list({
      transform: (o) => {
        seen.push(o.metadata!.name!);
        delete o.metadata!.managedFields;
        return o;
      },
    });
    expect(resourceVersion).toBe('99');
    expect(items.map((o) => o.metadata!.name)).toEqual(['j0', 'j1', 'j2', 'j3', 'j4']);
    expect(items[0]).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job' });
    expect(items[0]!.metadata!.managedFields).toBeUndefined();
    expect(seen).toHaveLength(5);
    expect(served.requests).toHaveLength(3);
    for (const u of served.requests) {
      expect(u.pathname).toBe('/apis/batch/v1/namespaces/ml/jobs');
      expect(u.searchParams.get('labelSelector')).toBe('app=lathe');
      expect(u.searchParams.get('limit')).toBe('2');
    }
    expect(served.requests.map((u) => u.searchParams.get('continue'))).toEqual([null, '2', '4']);
    expect(served.auth[0]).toBe('Bearer secret-token');
  });

  it('falls back to one unpaginated list when a continue token expires', async () => {
    servePages(true);
    const lw = apiListWatch<KubernetesObject>(kc, { resource: { group: 'batch', version: 'v1', plural: 'jobs' }, pageSize: 2 });
    const { items } = await lw.list();
    expect(items).toHaveLength(5);
    expect(served.requests.at(-1)!.searchParams.get('limit')).toBeNull();
  });

  it('turns an error status into a KubeApiError with the server message', async () => {
    handler = (_url, res) => {
      res.writeHead(403, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 403, reason: 'Forbidden', message: 'jobs.batch is forbidden' }));
    };
    const lw = apiListWatch<KubernetesObject>(kc, { resource: { group: 'batch', version: 'v1', plural: 'jobs' } });
    const err = await lw.list().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).statusCode).toBe(403);
    expect((err as KubeApiError).message).toContain('jobs.batch is forbidden');
    expect(isGone(err)).toBe(false);
  });

  it('watches with the resourceVersion, bookmarks and a jittered server timeout; a server close ends it cleanly', async () => {
    handler = (_url, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: { kind: 'Job', metadata: { name: 'a', resourceVersion: '101' } } }) + '\n');
      res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Job', metadata: { resourceVersion: '102' } } }) + '\n');
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } }) + '\n');
    };
    const lw = apiListWatch<KubernetesObject>(kc, { resource: { version: 'v1', plural: 'configmaps' }, labelSelector: 'x=y', watchTimeoutSeconds: 300 });
    const events: Array<[WatchEventType, unknown]> = [];
    const done = new Promise<unknown>((resolve) => {
      void lw.watch('100', (type, obj) => events.push([type, obj]), resolve);
    });
    expect(await done).toBeFalsy();
    expect(events.map(([t]) => t)).toEqual(['ADDED', 'BOOKMARK', 'ERROR']);
    expect(isGone(events[2]![1])).toBe(true);
    const u = served.requests[0]!;
    expect(u.pathname).toBe('/api/v1/configmaps');
    expect(u.searchParams.get('watch')).toBe('true');
    expect(u.searchParams.get('resourceVersion')).toBe('100');
    expect(u.searchParams.get('allowWatchBookmarks')).toBe('true');
    expect(u.searchParams.get('labelSelector')).toBe('x=y');
    const timeout = Number(u.searchParams.get('timeoutSeconds'));
    expect(timeout).toBeGreaterThanOrEqual(300);
    expect(timeout).toBeLessThan(600);
  });

  it('reassembles events split across chunks, and several events in one chunk', async () => {
    const a = JSON.stringify({ type: 'ADDED', object: { kind: 'Job', metadata: { name: 'a', resourceVersion: '1' } } });
    const b = JSON.stringify({ type: 'MODIFIED', object: { kind: 'Job', metadata: { name: 'a', resourceVersion: '2' } } });
    const c = JSON.stringify({ type: 'DELETED', object: { kind: 'Job', metadata: { name: 'a', resourceVersion: '3' } } });
    handler = (_url, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(a.slice(0, 10));
      setTimeout(() => {
        res.write(`${a.slice(10)}\n${b}\n${c.slice(0, 5)}`);
        setTimeout(() => res.end(`${c.slice(5)}\n`), 20);
      }, 20);
    };
    const lw = apiListWatch<KubernetesObject>(kc, { resource: { group: 'batch', version: 'v1', plural: 'jobs' } });
    const events: string[] = [];
    await new Promise<unknown>((resolve) => {
      void lw.watch('0', (type, obj) => events.push(`${type} ${(obj as KubernetesObject).metadata!.resourceVersion!}`), resolve);
    });
    expect(events).toEqual(['ADDED 1', 'MODIFIED 2', 'DELETED 3']);
  });

  it('reports a watch refused with an HTTP error through onDone', async () => {
    handler = (_url, res) => {
      res.writeHead(410, { 'Content-Type': 'application/json' });
      res.end('{}');
    };
    const lw = apiListWatch<KubernetesObject>(kc, { resource: { version: 'v1', plural: 'configmaps' } });
    const err = await new Promise<unknown>((resolve) => {
      void lw.watch('1', () => undefined, resolve);
    });
    expect(isGone(err)).toBe(true);
  });
});
