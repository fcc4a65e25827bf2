// Errors from the API server, carrying the decoded metav1.Status so callers (and logs) see the
// server's own words: "jobs.batch \"x\" already exists", the admission message naming a field.

/** A metav1.Status, as the API server returns it with errors and in ERROR watch events. */
export interface ApiStatus {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly status: ApiStatus | undefined,
    what = 'API server',
  ) {
    super(`${what}: ${statusCode}${status?.reason ? ` ${status.reason}` : ''}${status?.message ? `: ${status.message}` : ''}`);
    this.name = 'KubeApiError';
  }
}

/** The HTTP status of a failed API call, or undefined for a network error. */
export function statusCode(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.statusCode;
  if (err !== null && typeof err === 'object') {
    // Other clients' errors (client-node's ApiException: `code`), as tests may pass them.
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === 'number') return e.code;
    if (typeof e.statusCode === 'number') return e.statusCode;
  }
  return undefined;
}
