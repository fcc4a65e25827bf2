// What the plugin says when something is in the way: one line of what went wrong and one of what to
// do, never a stack trace. Each failure a user can meet has its words here, tested in errors.test.ts.
import { KubeApiError } from '../../operator/src/client/errors.js';

/** An error meant for the user: `message` says what is wrong, `hint` what to do about it. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH']);

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if (e instanceof Error && /timed out/.test(e.message)) return 'timeout';
  }
  return undefined;
}

/** An error of a call to the API server at `server`, in the user's terms. */
export function apiError(err: unknown, server: string, what: string): CliError {
  if (err instanceof CliError) return err;
  const code = networkCode(err);
  if (code) return new CliError(`cannot reach the API server at ${server} (${code}) while ${what}`, 'is the cluster up and your kubeconfig current? `kubectl cluster-info` checks the same one');
  if (err instanceof KubeApiError) {
    const said = err.status?.message ?? err.message;
    if (err.statusCode === 401) return new CliError(`the API server refused your credentials while ${what}: ${said}`, 'refresh them (on EKS: aws eks update-kubeconfig --name <cluster>)');
    if (err.statusCode === 403) return new CliError(`not allowed while ${what}: ${said}`, 'ask for read access (get, list, watch) to trainingruns and inferenceservices.lathe.dev, pods, pods/log and events in that namespace');
    if (err.statusCode === 404 && /the server could not find the requested resource/.test(said)) return new CliError(`the cluster does not serve Lathe's API while ${what}`, 'install Lathe (helm install lathe charts/lathe) or switch to the cluster that runs it');
    return new CliError(`${what}: ${said}`);
  }
  return new CliError(`${what}: ${(err as Error)?.message ?? String(err)}`);
}

/** An error of a call to S3, in the user's terms. */
export function s3Error(err: unknown, where: string): CliError {
  if (err instanceof CliError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.name === 'CredentialsProviderError' || /Could not load credentials/.test(e?.message ?? '')) {
    return new CliError(`no AWS credentials to read ${where}`, 'set AWS_PROFILE (or run `aws sso login`), as for the aws CLI; the run records need s3:ListBucket and s3:GetObject on models/');
  }
  if (e?.name === 'AccessDenied' || e?.$metadata?.httpStatusCode === 403) {
    return new CliError(`S3 refused access to ${where} (${e.name ?? 403})`, 'your AWS identity needs s3:ListBucket and s3:GetObject on the bucket\'s models/ prefix (aws sts get-caller-identity shows who you are)');
  }
  if (e?.name === 'NoSuchBucket') return new CliError(`${where}: the bucket does not exist`, 'pass --bucket (or LATHE_S3_BUCKET) with the bucket the operator writes to');
  const code = networkCode(err);
  if (code) return new CliError(`cannot reach S3 for ${where} (${code})`, 'check AWS_ENDPOINT_URL_S3 / AWS_REGION and your network');
  return new CliError(`${where}: ${e?.message ?? String(err)}`);
}
