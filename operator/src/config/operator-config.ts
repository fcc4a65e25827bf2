// The operator's own settings: what the platform team chooses at install time (the Helm chart sets
// these as environment variables), as opposed to what a data scientist writes in a TrainingRun.
// A table of small parsers rather than zod: zod is the API's schema language at build time, but
// loading it into the operator costs ~6 MB of its memory budget for nineteen variables.
import { isIP } from 'node:net';

/** Parses one variable's text; throws a message saying what was expected. */
type Parse<T> = (text: string) => T;

const text: Parse<string> = (s) => s;

function integer(min: number, max = Number.MAX_SAFE_INTEGER): Parse<number> {
  return (s) => {
    const n = Number(s);
    if (!/^-?\d+$/.test(s.trim()) || n < min || n > max) throw new Error(`expected an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got "${s}"`);
    return n;
  };
}

const positive: Parse<number> = (s) => {
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got "${s}"`);
  return n;
};

/** true/false, as the chart writes them (and 1/0, yes/no); anything else is a typo, not "true". */
const boolean: Parse<boolean> = (s) => {
  const v = s.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  throw new Error(`expected true or false, got "${s}"`);
};

/** An image reference: no spaces (a pod with one fails at pull time, long after start-up). */
const image: Parse<string> = (s) => {
  if (/\s/.test(s)) throw new Error(`expected an image reference without spaces, got "${s}"`);
  return s;
};

/** An S3 bucket name (3-63 lower-case letters, digits, '.' and '-'), as AWS names them. */
const bucket: Parse<string> = (s) => {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s)) throw new Error(`expected an S3 bucket name (3-63 characters: a-z, 0-9, '.' and '-'), got "${s}"`);
  return s;
};

/** An http(s) URL, as the AWS SDKs take for an endpoint. */
const httpUrl: Parse<string> = (s) => {
  if (!URL.canParse(s) || !['http:', 'https:'].includes(new URL(s).protocol)) throw new Error(`expected an http:// or https:// URL, got "${s}"`);
  return s;
};

/** An object name (RFC 1123 subdomain), e.g. a Secret's: api/common.ts's DNS_SUBDOMAIN_RE, not imported since that module loads zod. */
const objectName: Parse<string> = (s) => {
  if (s.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(s)) {
    throw new Error(`expected a lower-case DNS subdomain (a-z, 0-9, '-' and '.'), got "${s}"`);
  }
  return s;
};

/** A namespace name (RFC 1123 label). */
const namespaceName: Parse<string> = (s) => {
  if (s.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s)) throw new Error(`expected a namespace name (a-z, 0-9 and '-', at most 63), got "${s}"`);
  return s;
};

const namespaces: Parse<string[]> = (s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map(namespaceName);

/** A comma-separated list of CIDR blocks (IPv4 or IPv6), as a NetworkPolicy's ipBlock takes them. */
const cidrs: Parse<string[]> = (s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((c) => {
      const [addr, bits, extra] = c.split('/');
      const family = isIP(addr ?? '');
      const max = family === 6 ? 128 : 32;
      if (!family || extra !== undefined || !/^\d{1,3}$/.test(bits ?? '') || Number(bits) > max) throw new Error(`expected CIDR blocks such as 10.0.0.0/16, got "${c}"`);
      return c;
    });

function oneOf<const T extends string>(...values: T[]): Parse<T> {
  return (s) => {
    if (!(values as string[]).includes(s)) throw new Error(`expected one of ${values.join(', ')}, got "${s}"`);
    return s as T;
  };
}

interface Setting<T> {
  env: string;
  parse: Parse<T>;
  default: T;
}

const setting = <T>(env: string, parse: Parse<T>, dflt: T): Setting<T> => ({ env, parse, default: dflt });

const SETTINGS = {
  /** Image that runs `python -m lathe_trainer` (trainer-image/). */
  trainerImage: setting('LATHE_TRAINER_IMAGE', image, 'ghcr.io/lathe-dev/lathe-trainer:0.1.0'),
  /** Image that runs `python -m lathe_inference` (inference-image/). */
  inferenceImage: setting('LATHE_INFERENCE_IMAGE', image, 'ghcr.io/lathe-dev/lathe-inference:0.1.0'),
  /** ServiceAccount of training pods, in the run's namespace (IRSA: read datasets, read/write models/). */
  trainerServiceAccount: setting('LATHE_TRAINER_SERVICE_ACCOUNT', objectName, 'lathe-trainer'),
  /** ServiceAccount of serving pods, in the service's namespace (IRSA: read-only models/). */
  inferenceServiceAccount: setting('LATHE_INFERENCE_SERVICE_ACCOUNT', objectName, 'lathe-inference'),
  /** Artifact bucket: run prefixes live under s3://<bucket>/models/. */
  s3Bucket: setting('LATHE_S3_BUCKET', bucket, 'lathe-artifacts'),
  /**
   * S3 endpoint of trainer and server pods, given to them as AWS_ENDPOINT_URL_S3, for S3-compatible
   * stores (MinIO locally, on-prem). Empty on EKS: the pods reach AWS S3 with their IRSA roles.
   * The operator's own endpoint is its AWS_ENDPOINT_URL_S3, a separate setting: the two may differ
   * when the operator runs outside the cluster.
   */
  podS3Endpoint: setting('LATHE_POD_S3_ENDPOINT', httpUrl, ''),
  /**
   * Secret, in the run's or service's namespace, whose keys trainer and server containers get as
   * environment variables (envFrom), e.g. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of MinIO.
   * Required when set: a pod whose Secret is missing stays in CreateContainerConfigError, which
   * says so. Empty on EKS: IRSA gives the pods short-lived credentials, never static keys.
   */
  podEnvSecret: setting('LATHE_POD_ENV_SECRET', objectName, ''),
  /**
   * Read Kueue's Workloads (and patch their spec.active): what Kueue says about a queued run goes
   * into its status, and spec.suspend works on queued runs. Needs Kueue's CRDs (start-up fails
   * without them) and the chart's `kueue.enabled` RBAC. Off: queued runs wait without a reason.
   */
  kueue: setting('LATHE_KUEUE', boolean, false),
  /**
   * The Gateway API is installed: spec.expose.httpRoute becomes an HTTPRoute, watched by an
   * informer. Needs the HTTPRoute CRD (gateway.networking.k8s.io/v1; start-up fails without it) and
   * the chart's `gatewayApi.enabled` RBAC. Off: a service asking for an HTTPRoute says so in status.
   */
  gatewayApi: setting('LATHE_GATEWAY_API', boolean, false),
  /**
   * NetworkPolicies for the pods the operator creates: serving pods accept traffic only from their
   * namespace, the ingress controllers' namespaces and CIDRs and Prometheus' namespaces; the pods of
   * a distributed run accept traffic (the rendezvous and the collectives) only from the same run.
   * Needs the chart's `networkPolicy.workloads.enabled` RBAC.
   */
  networkPolicies: setting('LATHE_NETWORK_POLICIES', boolean, false),
  /** Namespaces of in-cluster ingress controllers or Gateways (ingress-nginx, Envoy Gateway) allowed to reach serving pods. */
  networkPolicyIngressNamespaces: setting<string[]>('LATHE_NETWORK_POLICY_INGRESS_NAMESPACES', namespaces, []),
  /**
   * CIDR blocks allowed to reach serving pods: an ALB with target-type ip sends from its own
   * addresses in the VPC's subnets, not from a pod, so give the VPC CIDR (or the public subnets') here.
   */
  networkPolicyIngressCidrs: setting<string[]>('LATHE_NETWORK_POLICY_INGRESS_CIDRS', cidrs, []),
  /** Namespaces of Prometheus, allowed to scrape serving pods (the chart's default: monitoring). Empty: none. */
  networkPolicyPrometheusNamespaces: setting<string[]>('LATHE_NETWORK_POLICY_PROMETHEUS_NAMESPACES', namespaces, []),
  /** Namespaces to watch; empty means all (the chart's default is cluster-wide). */
  watchNamespaces: setting<string[]>('LATHE_WATCH_NAMESPACES', namespaces, []),
  /**
   * Parallel reconciles per controller. A reconcile mostly waits on the API server or S3, and in
   * Node a worker is only a pending promise, so 32 (Argo Workflows' default too) lets a burst of
   * new runs get their Jobs as fast as a client creates the runs: with 8, the same burst took 2.4x
   * a plain client's time against 1.9x with 32 (medians of eight rounds each, README).
   */
  workers: setting('LATHE_WORKERS', integer(1, 64), 32),
  /** How often a running run's progress.json is read; reads are also capped globally (progressQps). */
  progressPollMs: setting('LATHE_PROGRESS_POLL_MS', integer(1), 15_000),
  progressQps: setting('LATHE_PROGRESS_QPS', positive, 20),
  /** Every cached object is re-reconciled this often (level-triggered drift repair). */
  resyncMs: setting('LATHE_RESYNC_MS', integer(1), 10 * 60_000),
  /** Grace period a trainer gets to checkpoint on SIGTERM (spot interruption, drain). */
  trainerGracePeriodSeconds: setting('LATHE_TRAINER_GRACE_PERIOD_SECONDS', integer(0), 120),
  /** Port of /metrics, /healthz, /readyz. */
  metricsPort: setting('LATHE_METRICS_PORT', integer(0, 65535), 8080),
  leaderElection: setting('LATHE_LEADER_ELECTION', boolean, true),
  leaseNamespace: setting('LATHE_LEASE_NAMESPACE', namespaceName, 'lathe-system'),
  leaseName: setting('LATHE_LEASE_NAME', objectName, 'lathe-operator'),
  /** Identity in the Lease; the pod name on Kubernetes. */
  identity: setting('POD_NAME', text, `lathe-${process.pid}`),
  logLevel: setting('LATHE_LOG_LEVEL', oneOf('debug', 'info', 'warn', 'error'), 'info'),
};

type Settings = typeof SETTINGS;
export type OperatorConfig = { [K in keyof Settings]: Settings[K]['default'] };

/** Environment variable for each setting (the Helm chart's contract). */
export const CONFIG_ENV = Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => [k, s.env])) as Record<keyof OperatorConfig, string>;

/** Reads the settings from the environment; a bad value fails start-up with the variable's name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(SETTINGS) as [keyof Settings, Setting<unknown>][]) {
    const value = env[s.env];
    if (value === undefined || value === '') {
      config[key] = s.default;
      continue;
    }
    try {
      config[key] = s.parse(value);
    } catch (err) {
      problems.push(`${s.env}: ${(err as Error).message}`);
    }
  }
  problems.push(...misspelled(env));
  if (problems.length > 0) throw new Error(`invalid operator configuration: ${problems.join('; ')}`);
  return config as OperatorConfig;
}

/**
 * LATHE_* variables that are one or two letters away from a setting: a typo (LATHE_WOKRERS) would
 * otherwise leave the default in force without a word. Others are left alone: the test harness and
 * the local tools set LATHE_* variables of their own, which the operator inherits.
 */
function misspelled(env: NodeJS.ProcessEnv): string[] {
  const known = Object.values(SETTINGS).map((s) => s.env);
  const out: string[] = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith('LATHE_') || known.includes(name)) continue;
    const near = known.find((k) => editDistance(name, k) <= 2);
    if (near) out.push(`${name}: not a setting; did you mean ${near}?`);
  }
  return out;
}

/** Levenshtein distance (two short ASCII names). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
