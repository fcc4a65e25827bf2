// Polling, shared by every suite that talks to a cluster (operator/test, test/e2e, hack/bench.ts).

type Maybe<T> = T | undefined | null | false;

/** Polls `check` until it returns a truthy value, which it returns; fails naming `what` on timeout. */
export async function waitFor<T>(what: string, check: () => Maybe<T> | Promise<Maybe<T>>, timeoutMs = 60_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError ? `: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
