// Pod Security "restricted" for every pod Lathe creates, plus the writable scratch space such pods
// need once the root filesystem is read-only (scanners ask for readOnlyRootFilesystem as well).
import type { V1PodSecurityContext, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';

/** The images' non-root user (trainer-image/ and inference-image/ Dockerfiles). */
export const IMAGE_UID = 10001;

export function restrictedPodSecurity(): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: IMAGE_UID,
    runAsGroup: IMAGE_UID,
    fsGroup: IMAGE_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function restrictedContainerSecurity(): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * /tmp for caches (HF_HOME, downloads), /dev/shm for PyTorch DataLoader workers (the default 64 MiB
 * shm makes multi-worker loading crash), /models for the server's model cache.
 */
export const scratchVolumes: { volumes: V1Volume[]; mounts: V1VolumeMount[] } = {
  volumes: [
    { name: 'tmp', emptyDir: {} },
    { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '8Gi' } },
  ],
  mounts: [
    { name: 'tmp', mountPath: '/tmp' },
    { name: 'dshm', mountPath: '/dev/shm' },
  ],
};
