// Read-your-writes for status. After a status write, the informer cache shows the old status until
// the watch event arrives; a reconcile in between would compute from stale data and write again
// (or emit a duplicate Event). The overlay remembers what we wrote until the cache has caught up.

interface Entry<S> {
  status: S;
  resourceVersion: bigint | undefined;
}

function rv(value: string | undefined): bigint | undefined {
  // resourceVersions are opaque by contract but are etcd revisions in practice; if one ever isn't a
  // number the overlay simply expires at the next event for the object.
  if (!value || !/^\d+$/.test(value)) return undefined;
  return BigInt(value);
}

export class StatusOverlay<S> {
  private readonly entries = new Map<string, Entry<S>>();

  wrote(key: string, status: S, resourceVersion: string | undefined): void {
    this.entries.set(key, { status, resourceVersion: rv(resourceVersion) });
  }

  /** The informer delivered a version of the object: drop the overlay once the cache is as new. */
  observe(key: string, resourceVersion: string | undefined): void {
    const e = this.entries.get(key);
    if (!e) return;
    const seen = rv(resourceVersion);
    if (e.resourceVersion === undefined || seen === undefined || seen >= e.resourceVersion) this.entries.delete(key);
  }

  current(key: string, cached: S | undefined, cachedVersion: string | undefined): S | undefined {
    const e = this.entries.get(key);
    if (!e) return cached;
    const seen = rv(cachedVersion);
    if (e.resourceVersion !== undefined && seen !== undefined && seen >= e.resourceVersion) {
      this.entries.delete(key);
      return cached;
    }
    return e.status;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}
