import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../../operator/src/client/errors.js';
import { apiError, s3Error } from './errors.js';

describe('what the plugin says', () => {
  it('an unreachable API server names it and what to check', () => {
    const err = apiError(new Error('connect', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }), 'https://k:6443', 'listing TrainingRuns');
    expect(err.message).toBe('cannot reach the API server at https://k:6443 (ECONNREFUSED) while listing TrainingRuns');
    expect(err.hint).toMatch(/kubectl cluster-info/);
  });

  it.each([
    [401, 'Unauthorized', 'the API server refused your credentials', /update-kubeconfig/],
    [403, 'trainingruns.lathe.dev is forbidden', 'not allowed while listing', /read access/],
    [404, 'the server could not find the requested resource', 'does not serve Lathe', /helm install/],
  ])('HTTP %d says what to do', (code, said, message, hint) => {
    const err = apiError(new KubeApiError(code, { message: said }), 'https://k', 'listing TrainingRuns');
    expect(err.message).toContain(message);
    expect(err.hint).toMatch(hint);
  });

  it('S3 without credentials, refused, or without the bucket', () => {
    expect(s3Error(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 's3://b/models/').hint).toMatch(/AWS_PROFILE/);
    expect(s3Error(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }), 's3://b/models/').message).toMatch(/S3 refused access to s3:\/\/b\/models\//);
    expect(s3Error(Object.assign(new Error('no'), { name: 'NoSuchBucket' }), 's3://b/models/').hint).toMatch(/--bucket/);
  });
});
