// S3 access of trainer and server pods where IRSA is not used: MinIO locally, S3-compatible stores
// on-prem. On EKS both settings stay empty: each pod's ServiceAccount carries an IRSA role and the
// AWS SDK in the pod finds AWS S3 and short-lived credentials by itself; no static keys anywhere.
import type { V1EnvFromSource, V1EnvVar } from '@kubernetes/client-node';
import type { OperatorConfig } from '../config/operator-config.js';

export type PodS3Settings = Pick<OperatorConfig, 'podS3Endpoint' | 'podEnvSecret'>;

/** The standard AWS SDK variable for the S3 endpoint; boto3 in both images honours it. */
export const S3_ENDPOINT_ENV = 'AWS_ENDPOINT_URL_S3';

/** What a trainer or server container gets: nothing at all when both settings are empty. */
export function podS3Access(config: PodS3Settings): { env: V1EnvVar[]; envFrom: V1EnvFromSource[] } {
  return {
    env: config.podS3Endpoint ? [{ name: S3_ENDPOINT_ENV, value: config.podS3Endpoint }] : [],
    // Not optional: a missing Secret must hold the pod in CreateContainerConfigError, naming the
    // Secret, rather than let it start without credentials and fail later on S3. Variables of
    // `env` win over the Secret's, so it cannot override the LATHE_* contract.
    envFrom: config.podEnvSecret ? [{ secretRef: { name: config.podEnvSecret } }] : [],
  };
}
