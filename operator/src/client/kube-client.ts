// The operator's Kubernetes client: JSON over HTTPS, one keep-alive connection pool, requests by
// path. The operator makes about a dozen kinds of call (list, watch, get, create, merge and JSON
// patch, server-side apply, replace, delete), all on plain JSON objects, so generated typed API
// classes would add memory (see cluster-access.ts) and a second object shape (client-node turns
// timestamps into Dates in responses but not in watch events) without adding safety.
import * as http from 'node:http';
import * as https from 'node:https';
import type { ClusterAccess } from './cluster-access.js';
import { KubeApiError, type ApiStatus } from './errors.js';

export type Query = Record<string, string | number | boolean | undefined>;

export const CONTENT_TYPES = {
  json: 'application/json',
  mergePatch: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  /** Client-side timeout of the whole request; the default suits single-object calls. */
  timeoutMs?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchHandle {
  abort(): void;
}

/** A kind of object the API serves: its group (none for the core group), version and plural. */
export interface Resource {
  readonly group?: string;
  readonly version: string;
  readonly plural: string;
}

/** Path of a resource collection or object: core ('' group) and named groups alike. */
export function resourcePath(r: Resource & { namespace?: string; name?: string; subresource?: string }): string {
  let p = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  if (r.namespace) p += `/namespaces/${encodeURIComponent(r.namespace)}`;
  p += `/${r.plural}`;
  if (r.name) p += `/${encodeURIComponent(r.name)}`;
  if (r.subresource) p += `/${r.subresource}`;
  return p;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const USER_AGENT = 'lathe-operator';

export class KubeClient {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(readonly access: ClusterAccess) {
    const isHttp = access.server.startsWith('http:');
    this.transport = isHttp ? http : https;
    // One pool for the process; watches each hold a socket for their lifetime, so no cap.
    this.agent = isHttp ? new http.Agent({ keepAlive: true }) : new https.Agent({ keepAlive: true, ...access.tls });
  }

  get<T>(path: string, query?: Query, timeoutMs?: number): Promise<T> {
    return this.request<T>('GET', path, { ...(query ? { query } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  }

  create<T>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', path, { body, ...(query ? { query } : {}) });
  }

  replace<T>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>('PUT', path, { body, ...(query ? { query } : {}) });
  }

  patch<T>(path: string, body: unknown, contentType: string, query?: Query): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType, ...(query ? { query } : {}) });
  }

  /** Server-side apply under `fieldManager`, taking ownership of conflicting fields (force). */
  apply<T>(path: string, body: unknown, fieldManager: string): Promise<T> {
    return this.patch<T>(path, body, CONTENT_TYPES.apply, { fieldManager, force: true });
  }

  delete<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('DELETE', path, query ? { query } : {});
  }

  /** One request; a 401 retries once with a fresh token (rotated file, expired exec credential). */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    try {
      return await this.send<T>(method, path, options);
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.statusCode !== 401) throw err;
      this.access.invalidate();
      return this.send<T>(method, path, options);
    }
  }

  /**
   * Watches a collection from the query's resourceVersion, calling `onEvent` for each event and
   * `onDone` once when the stream ends (undefined on a normal close, e.g. the server's
   * timeoutSeconds). After `abort()`, `onDone` is not called.
   */
  async watch(path: string, query: Query, onEvent: (type: WatchEventType, obj: unknown) => void, onDone: (err?: unknown) => void): Promise<WatchHandle> {
    const req = await this.open('GET', path, { ...query, watch: true }, undefined);
    let aborted = false;
    let finished = false;
    const finish = (err?: unknown) => {
      if (finished || aborted) return;
      finished = true;
      onDone(err);
    };
    req.on('error', finish);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        readBody(res).then(
          (text) => finish(new KubeApiError(res.statusCode ?? 0, parseStatus(text), `watch ${path}`)),
          finish,
        );
        return;
      }
      res.setEncoding('utf8');
      let buffered = '';
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.trim() === '' || aborted) continue;
          let event: { type: WatchEventType; object: unknown };
          try {
            event = JSON.parse(line) as { type: WatchEventType; object: unknown };
          } catch (err) {
            req.destroy();
            finish(new Error(`watch ${path}: a line that is not JSON`, { cause: err }));
            return;
          }
          onEvent(event.type, event.object);
        }
      });
      res.on('error', finish);
      res.on('end', () => finish());
      res.on('close', () => finish(res.complete ? undefined : new Error(`watch ${path}: connection closed`)));
    });
    req.end();
    return {
      abort() {
        aborted = true;
        req.destroy();
      },
    };
  }

  /**
   * A streamed GET (a pod's log with follow=true): the response once its status is 200, to be
   * read as it arrives; any other status is a KubeApiError with the server's words.
   */
  async stream(path: string, query: Query): Promise<http.IncomingMessage> {
    const req = await this.open('GET', path, query, undefined);
    return new Promise((resolve, reject) => {
      req.on('error', reject);
      req.on('response', (res) => {
        if (res.statusCode === 200) {
          resolve(res);
          return;
        }
        readBody(res).then((text) => reject(new KubeApiError(res.statusCode ?? 0, parseStatus(text), `GET ${path}`)), reject);
      });
      req.end();
    });
  }

  private async send<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    let payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    // An apply body is JSON sent as YAML, and YAML reads U+0085, U+2028 and U+2029 as line breaks
    // (a NEL in a value became a space; in a key, the apply failed). Escaped, YAML reads them back.
    if (payload !== undefined && options.contentType === CONTENT_TYPES.apply) payload = escapeYamlBreaks(payload);
    const req = await this.open(method, path, options.query, payload === undefined ? undefined : (options.contentType ?? CONTENT_TYPES.json));
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.on('response', (res) => {
        readBody(res).then((text) => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            reject(new KubeApiError(status, parseStatus(text), `${method} ${path}`));
            return;
          }
          try {
            resolve((text.length > 0 ? JSON.parse(text) : undefined) as T);
          } catch (err) {
            reject(new Error(`${method} ${path}: the response is not JSON`, { cause: err }));
          }
        }, reject);
      });
      req.end(payload);
    });
  }

  private async open(method: string, path: string, query: Query | undefined, contentType: string | undefined): Promise<http.ClientRequest> {
    const url = new URL(this.access.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: http.OutgoingHttpHeaders = { Accept: CONTENT_TYPES.json, 'User-Agent': USER_AGENT };
    if (contentType) headers['Content-Type'] = contentType;
    const token = await this.access.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    return this.transport.request(url, { method, headers, agent: this.agent });
  }

  /** Closes idle keep-alive sockets (tests, shutdown); open watches are aborted by their owners. */
  close(): void {
    this.agent.destroy();
  }
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function parseStatus(text: string): ApiStatus | undefined {
  try {
    const body = JSON.parse(text) as ApiStatus;
    return body && typeof body === 'object' ? body : undefined;
  } catch {
    return text ? { message: text.slice(0, 500) } : undefined;
  }
}

/** JSON text with U+0085, U+2028 and U+2029 written as \u escapes, which JSON and YAML both read back. */
export function escapeYamlBreaks(json: string): string {
  return json.replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
