// What running a controller of the field out of cluster against the local control plane takes,
// shared by Kueue (the queueing suites) and Kubeflow Trainer with JobSet (the bench's peer): its
// binary and CRDs from hack/tools.sh, a serving certificate for 127.0.0.1, and its CRDs established.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { kubectl, repoRoot, waitFor } from './cluster.js';

/** The path hack/tools.sh gives a built tool (building it if missing). */
export function tool(name: string): string {
  return execFileSync(path.join(repoRoot, 'hack/tools.sh'), ['path', name], { encoding: 'utf8' }).trim();
}

/** tls.crt and tls.key in `dir`, self-signed for 127.0.0.1 and localhost, valid a day. */
export function selfSignedCert(dir: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', path.join(dir, 'tls.key'), '-out', path.join(dir, 'tls.crt')], { stdio: 'ignore' });
}

/** Waits until each CRD (full name) is Established. */
export async function crdsEstablished(crds: readonly string[]): Promise<void> {
  for (const crd of crds) {
    // (`kubectl wait` fails at once while a new CRD has no conditions yet.)
    await waitFor(`CRD ${crd} established`, () => kubectl(['get', `crd/${crd}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']) === 'True' || undefined);
  }
}
