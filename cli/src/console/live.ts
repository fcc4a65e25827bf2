// A collection kept current by list-then-watch, as kubectl get -w and every informer do: one list,
// then a watch from its resourceVersion; a watch that ends is resumed from the last version seen,
// one the server has compacted away (410 Gone) starts over with a list. While the API server
// cannot be reached the collection keeps what it had, reports the problem, and retries.
import { KubeApiError } from '../../../operator/src/client/errors.js';
import type { KubeClient, WatchHandle } from '../../../operator/src/client/kube-client.js';

interface Obj {
  metadata: { uid?: string; resourceVersion?: string; namespace?: string; name?: string };
}

export interface LiveOptions {
  /** Collection path, e.g. /apis/lathe.dev/v1alpha1/namespaces/ml/trainingruns. */
  path: string;
  /** Called after every change (and after each problem or recovery). */
  onChange: (change: { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'SYNCED' | 'PROBLEM'; obj?: Obj }) => void;
  retryMs?: number;
}

export class LiveCollection<T extends Obj> {
  private readonly items = new Map<string, T>();
  private version = '';
  private handle: WatchHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The last failure, until a list or watch succeeds again. */
  problem: unknown;
  synced = false;

  constructor(private readonly client: KubeClient, private readonly o: LiveOptions) {}

  start(): void {
    void this.relist();
  }

  list(): T[] {
    return [...this.items.values()];
  }

  stop(): void {
    this.stopped = true;
    this.handle?.abort();
    clearTimeout(this.timer);
  }

  private retry(err: unknown): void {
    if (this.stopped) return;
    this.problem = err;
    this.o.onChange({ type: 'PROBLEM' });
    this.timer = setTimeout(() => void this.relist(), this.o.retryMs ?? 3000);
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const body = await this.client.get<{ items?: T[]; metadata?: { resourceVersion?: string } }>(this.o.path);
      this.items.clear();
      for (const item of body.items ?? []) this.items.set(item.metadata.uid ?? `${item.metadata.namespace}/${item.metadata.name}`, item);
      this.version = body.metadata?.resourceVersion ?? '';
      this.problem = undefined;
      this.synced = true;
      this.o.onChange({ type: 'SYNCED' });
      await this.watch();
    } catch (err) {
      this.retry(err);
    }
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    this.handle = await this.client.watch(
      this.o.path,
      { resourceVersion: this.version, allowWatchBookmarks: true, timeoutSeconds: 300 },
      (type, raw) => {
        const obj = raw as T;
        if (obj.metadata?.resourceVersion) this.version = obj.metadata.resourceVersion;
        if (type === 'BOOKMARK') return;
        if (type === 'ERROR') {
          // A Status, e.g. 410 Gone when the version was compacted: the stream ends next; start over.
          this.version = '';
          return;
        }
        const key = obj.metadata.uid ?? `${obj.metadata.namespace}/${obj.metadata.name}`;
        if (type === 'DELETED') this.items.delete(key);
        else this.items.set(key, obj);
        this.o.onChange({ type, obj });
      },
      (err) => {
        if (this.stopped) return;
        if (err === undefined) {
          if (this.version) this.watch().catch((e: unknown) => this.retry(e));
          else void this.relist();
          return;
        }
        if (err instanceof KubeApiError && err.statusCode === 410) this.version = '';
        this.retry(err);
      },
    );
  }
}
