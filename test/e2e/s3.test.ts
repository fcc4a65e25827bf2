// The S3 the environment names (the local MinIO, or a real bucket on EKS) speaks the S3 API the
// operator and the images use.
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../operator/src/aws/s3-store.js';
import { suffix } from '../support/cluster.js';

const bucket = process.env.LATHE_S3_BUCKET;

describe.skipIf(!bucket)('S3', () => {
  it('writes and reads back an object with @aws-sdk/client-s3', async () => {
    // The SDK reads AWS_ENDPOINT_URL_S3, keys and region from the standard environment.
    const s3 = new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3) });
    const key = `e2e/${suffix()}/hello.json`;
    const body = JSON.stringify({ hello: 'lathe', at: Date.now() });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(await got.Body?.transformToString()).toBe(body);
      expect(got.ContentType).toBe('application/json');
    } finally {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    }
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it("never lets a run's first record replace one already there (the operator's conditional write, If-None-Match)", async () => {
    const store = new S3ObjectStore();
    const key = `e2e/${suffix()}/run.json`;
    try {
      await store.putJson(bucket!, key, { phase: 'Running' }, { ifAbsent: true });
      expect(await store.getJson(bucket!, key)).toEqual({ phase: 'Running' });
      await store.putJson(bucket!, key, { phase: 'Succeeded' });
      // A late first-record write, as one retried through an S3 outage: left alone, and no error.
      await store.putJson(bucket!, key, { phase: 'Running' }, { ifAbsent: true });
      expect(await store.getJson(bucket!, key)).toEqual({ phase: 'Succeeded' });
    } finally {
      await new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3) }).send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    }
  });
});
