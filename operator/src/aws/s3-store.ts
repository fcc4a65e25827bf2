// The only S3 code of the operator: read the trainer's JSON files of a run and write the run record.
// Credentials and endpoint come from the standard AWS SDK chain (IRSA on EKS; AWS_ENDPOINT_URL_S3
// and keys of the local server in development), so nothing here knows which one is in use.
import { GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

export interface ObjectStore {
  /** The parsed JSON at key, or undefined when the object does not exist. Throws on other errors. */
  getJson(bucket: string, key: string): Promise<unknown>;
  /**
   * Writes JSON at key. With `ifAbsent`, only when nothing is there yet (S3's conditional write,
   * If-None-Match: *): an existing object is left as it is, and that is not an error.
   */
  putJson(bucket: string, key: string, value: unknown, opts?: { ifAbsent?: boolean }): Promise<void>;
  headBucket(bucket: string): Promise<void>;
}

export class S3ObjectStore implements ObjectStore {
  constructor(private readonly client: S3Client = defaultS3Client()) {}

  async getJson(bucket: string, key: string): Promise<unknown> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const text = (await out.Body?.transformToString('utf-8')) ?? '';
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw new MalformedObjectError(`s3://${bucket}/${key} is not valid JSON: ${(err as Error).message}`);
      }
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async putJson(bucket: string, key: string, value: unknown, opts: { ifAbsent?: boolean } = {}): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: `${JSON.stringify(value, null, 2)}\n`,
          ContentType: 'application/json',
          ...(opts.ifAbsent ? { IfNoneMatch: '*' } : {}),
        }),
      );
    } catch (err) {
      // 412: the object exists (or the SDK's retry of a write that had landed); as asked, left alone.
      if (opts.ifAbsent && (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412) return;
      throw err;
    }
  }

  async headBucket(bucket: string): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
  }

  /**
   * The "folders" directly under `prefix` (S3's CommonPrefixes with delimiter '/'), every page:
   * `models/` gives `models/<slug>/`. The operator never lists; kubectl-lathe finds the records of
   * deleted runs this way without listing every checkpoint file.
   */
  async listFolders(bucket: string, prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }));
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }
}

export class MalformedObjectError extends Error {
  override name = 'MalformedObjectError';
}

export function defaultS3Client(): S3Client {
  // A custom endpoint (MinIO, LocalStack) needs path-style addressing; real S3 prefers virtual-host.
  return new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3), maxAttempts: 3 });
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
