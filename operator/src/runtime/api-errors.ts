// The HTTP status of a failed Kubernetes API call, whichever shape the error has: client-node's
// ApiException carries `code`, raw HTTPS errors here carry `statusCode`.

export function statusCode(err: unknown): number | undefined {
  if (err !== null && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === 'number') return e.code;
    if (typeof e.statusCode === 'number') return e.statusCode;
  }
  return undefined;
}
