// The Gateway API's standard CRDs for the suites that need HTTPRoutes: taken from the Go module
// sigs.k8s.io/gateway-api (config/crd/standard/), which `go mod download` fetches from the module
// proxy into Go's module cache once. No Gateway controller runs here: a test plays the controller
// by writing the route's status, as one would.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { kubectl } from './cluster.js';

export const GATEWAY_API_VERSION = 'v1.3.0';
const CRDS = ['gatewayclasses', 'gateways', 'httproutes', 'referencegrants'];

/** Whether the cluster serves HTTPRoutes already (a real cluster with the Gateway API installed). */
export function gatewayApiServed(): boolean {
  return kubectl(['api-resources', '--api-group=gateway.networking.k8s.io', '-o', 'name']).split('\n').some((l) => l.startsWith('httproutes'));
}

/** Installs the standard-channel CRDs unless they are served; returns a function that removes what it installed. */
export function installGatewayApiCrds(): () => void {
  if (gatewayApiServed()) return () => undefined;
  const out = execFileSync('go', ['mod', 'download', '-json', `sigs.k8s.io/gateway-api@${GATEWAY_API_VERSION}`], {
    encoding: 'utf8',
    // Outside any module, with no inherited GOFLAGS (a -mod=vendor, say, would make it look for one).
    cwd: '/',
    env: { ...process.env, GOFLAGS: '' },
  });
  const dir = (JSON.parse(out) as { Dir: string }).Dir;
  const files = CRDS.map((c) => path.join(dir, 'config/crd/standard', `gateway.networking.k8s.io_${c}.yaml`));
  kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=lathe-e2e', ...files.flatMap((f) => ['-f', f])]);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...CRDS.map((c) => `crd/${c}.gateway.networking.k8s.io`)]);
  return () => {
    kubectl(['delete', '--ignore-not-found', '--wait=false', ...CRDS.map((c) => `crd/${c}.gateway.networking.k8s.io`)]);
  };
}
