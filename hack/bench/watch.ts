// The bench's watches: the arrival time of each new object (a Job, a pod) the steps wait for.
import type { KubeClient } from '../../operator/src/client/kube-client.js';
import { isGone } from '../../operator/src/runtime/list-watch.js';

interface Meta {
  metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string> };
}

/**
 * Watches `path`, calling `onNew` once per key with the arrival time of the first object of that
 * key: `keyOf` maps an object to what is being counted (a Job's name; the run a pod belongs to),
 * or undefined for objects of no interest. (A watch without a resourceVersion first replays every
 * existing object as ADDED, hence the keys: only the objects of the step being measured count.) The
 * API server ends a watch that falls behind a burst of events (its watch cache drops slow watchers
 * with a normal end of the stream), so an ended watch resumes from the last resourceVersion it saw.
 */
export async function watchNew(
  api: KubeClient,
  path: string,
  keyOf: (obj: Meta) => string | undefined,
  onNew: (key: string, obj: Meta, at: number) => void,
  log: (s: string) => void,
): Promise<{ abort(): void }> {
  const seen = new Set<string>();
  let resourceVersion: string | undefined;
  let handle: { abort(): void } | undefined;
  let aborted = false;
  let restarts = 0;
  const start = async (): Promise<void> => {
    const h = await api.watch(path, resourceVersion ? { resourceVersion } : {}, (type, o) => {
      const at = performance.now();
      const obj = o as Meta;
      if (type === 'ERROR') {
        resourceVersion = undefined; // 410 Gone: start over with a replay (the seen set dedupes it)
        return;
      }
      restarts = 0;
      resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
      if (type !== 'ADDED' && type !== 'MODIFIED') return;
      const key = keyOf(obj);
      if (key === undefined || seen.has(key)) return;
      seen.add(key);
      onNew(key, obj, at);
    }, (err) => {
      if (aborted) return;
      if (isGone(err)) resourceVersion = undefined;
      if (++restarts > 20) {
        log(`[bench] the watch of ${path} keeps ending: ${err instanceof Error ? err.message : JSON.stringify(err)}`);
        return;
      }
      setTimeout(() => {
        start().catch((e: unknown) => log(`[bench] could not restart the watch of ${path}: ${String(e)}`));
      }, 200);
    });
    if (aborted) h.abort();
    handle = h;
  };
  await start();
  return {
    abort: () => {
      aborted = true;
      handle?.abort();
    },
  };
}

/** Counts the keys of `watchNew` as they appear; `last` is when the newest did. */
export async function countNew(api: KubeClient, path: string, keyOf: (obj: Meta) => string | undefined, log: (s: string) => void): Promise<{ seen(): number; last(): number; abort(): void }> {
  let seen = 0;
  let last = 0;
  const w = await watchNew(api, path, keyOf, (_k, _o, at) => {
    seen++;
    last = at;
  }, log);
  return { seen: () => seen, last: () => last, abort: () => w.abort() };
}

/** keyOf for a name prefix: the object's own name. */
export const byName = (prefix: string) => (o: Meta) => (o.metadata?.name?.startsWith(prefix) ? o.metadata.name : undefined);

/** keyOf for pods: the value of `label` (the run or TrainJob a pod belongs to), when it starts with `prefix`. */
export const byLabel = (label: string, prefix = '') => (o: Meta) => {
  const v = o.metadata?.labels?.[label];
  return v?.startsWith(prefix) ? v : undefined;
};
