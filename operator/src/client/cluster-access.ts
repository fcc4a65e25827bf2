// Where the API server is and how to prove who we are to it: a kubeconfig (the `KUBECONFIG` list or
// ~/.kube/config) or, inside a pod, the ServiceAccount's mounted token. The operator's own code
// instead of client-node's KubeConfig because importing client-node loads all ~1,300 of its
// generated model classes, ~30 MB of the operator's 120 MB memory budget (README, "Dependencies").
//
// Supported, as kubectl reads them: certificate-authority(-data), insecure-skip-tls-verify,
// tls-server-name, client-certificate(-data) with client-key(-data), token, tokenFile, and exec
// credential plugins (e.g. `aws eks get-token`, with provideClusterInfo). Relative paths are
// relative to the kubeconfig file. Settings that would change where requests go or who makes them
// (proxy-url, impersonation) are refused with one line rather than ignored: quietly dropping them
// would talk to the cluster directly, or as someone else.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';

/** The ServiceAccount files every pod gets (unless automountServiceAccountToken is off). */
export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A mounted or projected token file is re-read this often: the kubelet rotates it in place. */
const TOKEN_FILE_REFRESH_MS = 60_000;
/** An exec plugin's token is renewed this long before it expires. */
const EXEC_EXPIRY_MARGIN_MS = 60_000;

export interface TlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
  servername?: string;
}

export interface ClusterAccess {
  /** Base URL of the API server, without a trailing slash. */
  server: string;
  tls: TlsSettings;
  /** The bearer token for the next request, if this identity uses one. */
  token(): Promise<string | undefined>;
  /** Forgets a cached token after a 401, so the next request gets a fresh one. */
  invalidate(): void;
  /** Where the settings came from, for logs and errors (never includes secrets). */
  source: string;
  /** The context's default namespace, if the kubeconfig names one. */
  namespace?: string;
}

interface KubeconfigCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
  extensions?: { name: string; extension?: unknown }[];
}

interface ExecConfig {
  apiVersion?: string;
  command: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
  provideClusterInfo?: boolean;
  interactiveMode?: 'Never' | 'IfAvailable' | 'Always';
  installHint?: string;
}

interface KubeconfigUser {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  exec?: ExecConfig;
  username?: string;
  'auth-provider'?: unknown;
  as?: string;
  'as-uid'?: string;
  'as-groups'?: string[];
  'as-user-extra'?: Record<string, string[]>;
}

interface KubeconfigContext {
  cluster?: string;
  user?: string;
  namespace?: string;
}

interface Kubeconfig {
  'current-context'?: string;
  clusters?: { name: string; cluster?: KubeconfigCluster }[];
  users?: { name: string; user?: KubeconfigUser }[];
  contexts?: { name: string; context?: KubeconfigContext }[];
}

/** Merged kubeconfig entries, each with the directory its relative paths resolve against. */
interface Merged {
  current?: string;
  clusters: Map<string, { cluster?: KubeconfigCluster; dir: string }>;
  users: Map<string, { user?: KubeconfigUser; dir: string }>;
  contexts: Map<string, { context?: KubeconfigContext; dir: string }>;
}

/**
 * The operator's order, as controller-runtime's: $KUBECONFIG, then the pod's ServiceAccount, then
 * ~/.kube/config. Nothing found is an error: quietly using http://localhost:8080 (client-node's
 * fallback) would make a misconfigured operator retry against nothing forever.
 */
export function loadClusterAccess(env: NodeJS.ProcessEnv = process.env, inClusterDir = IN_CLUSTER_DIR): ClusterAccess {
  const files = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  if (files.length > 0) return fromKubeconfigFiles(files, env);
  if (env.KUBERNETES_SERVICE_HOST && existsSync(path.join(inClusterDir, 'token'))) return inCluster(env, inClusterDir);
  const home = path.join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromKubeconfigFiles([home], env);
  throw new Error('no cluster to talk to: set KUBECONFIG, or run in a pod with a ServiceAccount token');
}

/** A pod's own identity: its ServiceAccount token and the cluster CA the kubelet mounted. */
export function inCluster(env: NodeJS.ProcessEnv, dir = IN_CLUSTER_DIR): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const namespaceFile = path.join(dir, 'namespace');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: { ca: readFileSync(path.join(dir, 'ca.crt')), rejectUnauthorized: true },
    ...fileToken(path.join(dir, 'token')),
    source: `in-cluster ServiceAccount (${dir})`,
    ...(existsSync(namespaceFile) ? { namespace: readFileSync(namespaceFile, 'utf8').trim() } : {}),
  };
}

/**
 * Reads kubeconfig files as kubectl merges them: for each name, the first file that defines it
 * wins, and so does the first current-context.
 */
export function fromKubeconfigFiles(files: string[], env: NodeJS.ProcessEnv = process.env): ClusterAccess {
  const merged: Merged = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const file of files) {
    if (!existsSync(file)) continue;
    const doc = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Kubeconfig;
    const dir = path.dirname(path.resolve(file));
    merged.current ??= doc['current-context'] || undefined;
    for (const e of doc.clusters ?? []) if (!merged.clusters.has(e.name)) merged.clusters.set(e.name, { ...e, dir });
    for (const e of doc.users ?? []) if (!merged.users.has(e.name)) merged.users.set(e.name, { ...e, dir });
    for (const e of doc.contexts ?? []) if (!merged.contexts.has(e.name)) merged.contexts.set(e.name, { ...e, dir });
  }
  const source = `kubeconfig ${files.join(path.delimiter)}`;
  const contextName = merged.current;
  if (!contextName) throw new Error(`${source}: no current-context`);
  const ctx = merged.contexts.get(contextName)?.context;
  if (!ctx) throw new Error(`${source}: context "${contextName}" not found`);
  const clusterEntry = merged.clusters.get(ctx.cluster ?? '');
  const cluster = clusterEntry?.cluster;
  if (!clusterEntry || !cluster?.server) throw new Error(`${source}: cluster "${ctx.cluster ?? ''}" of context "${contextName}" not found or has no server`);
  const userEntry = merged.users.get(ctx.user ?? '');
  const user: KubeconfigUser = userEntry?.user ?? {};
  const clusterDir = clusterEntry.dir;
  const userDir = userEntry?.dir ?? '.';

  if (user['auth-provider']) throw new Error(`${source}: user "${ctx.user ?? ''}" uses an auth-provider, which Lathe does not support; use an exec credential plugin`);
  if (user.username) throw new Error(`${source}: user "${ctx.user ?? ''}" uses basic auth, which Kubernetes removed in 1.19`);
  const impersonation = (['as', 'as-uid', 'as-groups', 'as-user-extra'] as const).filter((k) => user[k] !== undefined);
  if (impersonation.length > 0) {
    throw new Error(`${source}: user "${ctx.user ?? ''}" impersonates (${impersonation.join(', ')}), which Lathe does not support; give the operator a kubeconfig of the identity itself`);
  }
  if (cluster['proxy-url']) {
    throw new Error(`${source}: cluster "${ctx.cluster ?? ''}" has a proxy-url, which Lathe does not support; the operator must reach the API server directly`);
  }
  if (user.exec?.interactiveMode === 'Always') {
    throw new Error(`${source}: user "${ctx.user ?? ''}" has an exec plugin with interactiveMode Always; the operator has no terminal, so the plugin must work without one`);
  }

  const tls: TlsSettings = { rejectUnauthorized: !cluster['insecure-skip-tls-verify'] };
  const ca = dataOrFile(cluster['certificate-authority-data'], cluster['certificate-authority'], clusterDir);
  if (ca) tls.ca = ca;
  if (cluster['tls-server-name']) tls.servername = cluster['tls-server-name'];
  const cert = dataOrFile(user['client-certificate-data'], user['client-certificate'], userDir);
  const key = dataOrFile(user['client-key-data'], user['client-key'], userDir);
  if (cert && key) {
    tls.cert = cert;
    tls.key = key;
  } else if (cert || key) {
    throw new Error(`${source}: user "${ctx.user ?? ''}" has a client certificate without a key, or a key without a certificate`);
  }

  let tokens: Pick<ClusterAccess, 'token' | 'invalidate'> = { token: () => Promise.resolve(undefined), invalidate: () => undefined };
  if (user.token) {
    const token = user.token;
    tokens = { token: () => Promise.resolve(token), invalidate: () => undefined };
  } else if (user.tokenFile) {
    tokens = fileToken(path.resolve(userDir, user.tokenFile));
  } else if (user.exec) {
    tokens = execToken(user.exec, user.exec.provideClusterInfo ? execClusterInfo(cluster, clusterDir) : undefined, env);
  }
  return {
    server: cluster.server.replace(/\/+$/, ''),
    tls,
    ...tokens,
    source: `${source} (context ${contextName})`,
    ...(ctx.namespace ? { namespace: ctx.namespace } : {}),
  };
}

/** The ExecCredential's spec.cluster, for plugins that ask for it (provideClusterInfo: true). */
function execClusterInfo(cluster: KubeconfigCluster, dir: string): Record<string, unknown> {
  const ca = dataOrFile(cluster['certificate-authority-data'], cluster['certificate-authority'], dir);
  const config = cluster.extensions?.find((e) => e.name === 'client.authentication.k8s.io/exec')?.extension;
  return {
    server: cluster.server,
    ...(cluster['tls-server-name'] ? { 'tls-server-name': cluster['tls-server-name'] } : {}),
    ...(cluster['insecure-skip-tls-verify'] ? { 'insecure-skip-tls-verify': true } : {}),
    ...(ca ? { 'certificate-authority-data': ca.toString('base64') } : {}),
    ...(config !== undefined ? { config } : {}),
  };
}

function dataOrFile(data: string | undefined, file: string | undefined, dir: string): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (file) return readFileSync(path.resolve(dir, file));
  return undefined;
}

/** A token file, re-read every minute (client-go does the same for rotated projected tokens). */
function fileToken(file: string): Pick<ClusterAccess, 'token' | 'invalidate'> {
  let cached: { value: string; at: number } | undefined;
  return {
    token() {
      if (!cached || Date.now() - cached.at > TOKEN_FILE_REFRESH_MS) cached = { value: readFileSync(file, 'utf8').trim(), at: Date.now() };
      return Promise.resolve(cached.value);
    },
    invalidate() {
      cached = undefined;
    },
  };
}

interface ExecCredential {
  status?: { token?: string; expirationTimestamp?: string; clientCertificateData?: string };
}

/**
 * A client.authentication.k8s.io exec plugin (`aws eks get-token` on EKS). Its token is cached
 * until shortly before it expires; concurrent requests share one run of the plugin.
 */
function execToken(exec: ExecConfig, cluster: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv): Pick<ClusterAccess, 'token' | 'invalidate'> {
  const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
  let cached: { value: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const runPlugin = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const info = { apiVersion, kind: 'ExecCredential', spec: { interactive: false, ...(cluster ? { cluster } : {}) } };
      const childEnv: NodeJS.ProcessEnv = { ...env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
      for (const { name, value } of exec.env ?? []) childEnv[name] = value;
      execFile(exec.command, exec.args ?? [], { env: childEnv, timeout: 60_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (err) {
          const hint = exec.installHint && (err as NodeJS.ErrnoException).code === 'ENOENT' ? ` (${exec.installHint.trim()})` : '';
          reject(new Error(`exec credential plugin ${exec.command} failed: ${stderr.trim() || err.message}${hint}`));
          return;
        }
        let cred: ExecCredential;
        try {
          cred = JSON.parse(stdout) as ExecCredential;
        } catch {
          reject(new Error(`exec credential plugin ${exec.command} printed something that is not an ExecCredential`));
          return;
        }
        const token = cred.status?.token;
        if (!token) {
          reject(new Error(`exec credential plugin ${exec.command} returned no token (client certificates from plugins are not supported)`));
          return;
        }
        const exp = cred.status?.expirationTimestamp ? Date.parse(cred.status.expirationTimestamp) : Infinity;
        cached = { value: token, expiresAt: exp - EXEC_EXPIRY_MARGIN_MS };
        resolve(token);
      });
    });
  return {
    token() {
      if (cached && Date.now() < cached.expiresAt) return Promise.resolve(cached.value);
      pending ??= runPlugin().finally(() => (pending = undefined));
      return pending;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
