// The list and watch calls an informer needs, behind a small interface so the informer's restart
// logic can be unit-tested with an in-memory source, and the real source is a thin layer over
// client-node's `Watch` plus a raw paginated GET.
//
// Why a raw GET and not KubernetesObjectApi.list / CustomObjectsApi: the generated clients
// deserialize into model classes (timestamps become Date), while watch events arrive as plain JSON
// (timestamps stay strings). One cache must hold one shape, so both sides use plain JSON.
import * as http from 'node:http';
import * as https from 'node:https';
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** The metav1.Status an ERROR watch event carries. */
export interface WatchErrorStatus {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export interface WatchHandle {
  abort(): void;
}

export interface ListOptions<T> {
  /**
   * Applied to each item as soon as its page arrives, so a large list never holds every full
   * object at once (managedFields can be most of an object). Must be idempotent: the informer
   * applies its transform again.
   */
  transform?: (obj: T) => T;
}

export interface ListWatch<T extends KubernetesObject> {
  list(options?: ListOptions<T>): Promise<ListResult<T>>;
  /**
   * Starts a watch from `resourceVersion`. `onDone` is called once when the watch ends (an error,
   * or undefined for a normal close); after `abort()` it may or may not be called.
   */
  watch(
    resourceVersion: string,
    onEvent: (type: WatchEventType, obj: T | WatchErrorStatus) => void,
    onDone: (err?: unknown) => void,
  ): Promise<WatchHandle>;
}

export interface ApiListWatchOptions {
  /** Collection path, e.g. /apis/lathe.dev/v1alpha1/trainingruns, /apis/batch/v1/jobs, /api/v1/pods. */
  path: string;
  /** Restricts to one namespace (inserted as /namespaces/<ns>/ before the resource). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Server-side watch timeout; each watch uses a random value in [t, 2t) like client-go's
   * reflector, so a watch that stalls silently is replaced and replicas don't reconnect in step.
   */
  watchTimeoutSeconds?: number;
  /** List page size; pages keep each response (and its JSON string) small. */
  pageSize?: number;
  /** Client-side timeout of one list page request. */
  requestTimeoutMs?: number;
}

/** An HTTP error from the API server, with the decoded metav1.Status when there is one. */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly status: WatchErrorStatus | undefined,
  ) {
    super(`API server returned ${statusCode}${status?.message ? `: ${status.message}` : ''}`);
    this.name = 'KubeApiError';
  }
}

/** True for "resource version too old" (410 Gone / Expired), which needs a relist, not a retry. */
export function isGone(errOrStatus: unknown): boolean {
  if (errOrStatus === null || typeof errOrStatus !== 'object') return false;
  const e = errOrStatus as Record<string, unknown>;
  if (e.statusCode === 410 || e.code === 410) return true;
  if (e.reason === 'Expired' || e.reason === 'Gone') return true;
  const msg = typeof e.message === 'string' ? e.message : '';
  return /too old resource version/i.test(msg);
}

/** `/apis/g/v/res` + ns → `/apis/g/v/namespaces/ns/res`. */
export function collectionPath(path: string, namespace?: string): string {
  const clean = path.replace(/\/+$/, '');
  if (!namespace) return clean;
  const i = clean.lastIndexOf('/');
  if (i <= 0) throw new Error(`not a collection path: ${path}`);
  return `${clean.slice(0, i)}/namespaces/${encodeURIComponent(namespace)}${clean.slice(i)}`;
}

async function getJson(kubeConfig: KubeConfig, path: string, query: Record<string, string | undefined>, timeoutMs: number): Promise<unknown> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  const options: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  // Sets the TLS agent (CA, client cert) and the Authorization header, including exec/OIDC auth.
  await kubeConfig.applyToHTTPSOptions(options);
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        let body: unknown;
        try {
          body = text.length > 0 ? JSON.parse(text) : undefined;
        } catch (err) {
          if (status >= 200 && status < 300) {
            reject(new Error(`invalid JSON from ${url.pathname}`, { cause: err }));
            return;
          }
        }
        if (status >= 200 && status < 300) resolve(body);
        else reject(new KubeApiError(status, body as WatchErrorStatus | undefined));
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url.pathname} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

interface RawList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/** A ListWatch over the real API server (any resource, built-in or custom). */
export function apiListWatch<T extends KubernetesObject>(kubeConfig: KubeConfig, options: ApiListWatchOptions): ListWatch<T> {
  const path = collectionPath(options.path, options.namespace);
  const pageSize = options.pageSize ?? 500;
  const timeoutMs = options.requestTimeoutMs ?? 60_000;
  const watchTimeout = options.watchTimeoutSeconds ?? 300;
  const watcher = new Watch(kubeConfig);

  const listPages = async (limit: number | undefined, transform: (obj: T) => T): Promise<ListResult<T>> => {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = (await getJson(
        kubeConfig,
        path,
        {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: limit === undefined ? undefined : String(limit),
          continue: cont,
        },
        timeoutMs,
      )) as RawList<T>;
      // List items carry no apiVersion/kind (only the list does); watch events do. Fill them in so
      // handlers see one shape whichever path an object came by.
      const kind = page.kind?.endsWith('List') ? page.kind.slice(0, -'List'.length) : undefined;
      for (const item of page.items ?? []) {
        if (item.apiVersion === undefined && page.apiVersion) item.apiVersion = page.apiVersion;
        if (item.kind === undefined && kind) item.kind = kind;
        items.push(transform(item));
      }
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  };

  return {
    async list(listOptions) {
      const transform = listOptions?.transform ?? ((o: T) => o);
      try {
        return await listPages(pageSize, transform);
      } catch (err) {
        // The continue token of a long paginated list can expire (410); a full list can't.
        if (isGone(err)) return listPages(undefined, transform);
        throw err;
      }
    },
    async watch(resourceVersion, onEvent, onDone) {
      const controller = await watcher.watch(
        path,
        {
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: Math.floor(watchTimeout * (1 + Math.random())),
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
        },
        (type: string, obj: unknown) => onEvent(type as WatchEventType, obj as T | WatchErrorStatus),
        (err: unknown) => onDone(err ?? undefined),
      );
      return { abort: () => controller.abort() };
    },
  };
}
