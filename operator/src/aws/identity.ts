// Start-up check of AWS access: who am I (STS GetCallerIdentity) and can I reach the bucket
// (S3 HeadBucket). The answer goes to logs, /readyz details and a metric; it never stops the
// operator, because Kubernetes-side work (Jobs, status) must go on during an AWS outage.
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { ObjectStore } from './s3-store.js';

export interface AwsAccess {
  identity?: string;
  identityError?: string;
  bucketReachable: boolean;
  bucketError?: string;
}

export async function checkAwsAccess(store: ObjectStore, bucket: string, sts: STSClient = new STSClient({})): Promise<AwsAccess> {
  const result: AwsAccess = { bucketReachable: false };
  const [identity, head] = await Promise.allSettled([
    sts.send(new GetCallerIdentityCommand({})),
    store.headBucket(bucket),
  ]);
  if (identity.status === 'fulfilled') result.identity = identity.value.Arn ?? identity.value.UserId ?? 'unknown';
  else result.identityError = describe(identity.reason);
  if (head.status === 'fulfilled') result.bucketReachable = true;
  else result.bucketError = describe(head.reason);
  return result;
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}${status}`;
}
