import { describe, expect, it } from 'vitest';
import { CONFIG_ENV, loadConfig } from './operator-config.js';
import { configWith } from '../../../test/support/config.js';

describe('loadConfig', () => {
  it('uses the defaults for unset and empty variables', () => {
    const config = loadConfig({ LATHE_WORKERS: '' });
    expect(config.workers).toBe(32);
    expect(config.watchNamespaces).toEqual([]);
    expect(config.leaderElection).toBe(true);
    expect(config.logLevel).toBe('info');
    expect(config.resyncMs).toBe(600_000);
  });

  it('parses every kind of setting', () => {
    const config = loadConfig({
      LATHE_WATCH_NAMESPACES: ' ml , research,,',
      LATHE_WORKERS: '16',
      LATHE_PROGRESS_QPS: '2.5',
      LATHE_LEADER_ELECTION: 'False',
      LATHE_LOG_LEVEL: 'debug',
      LATHE_TRAINER_GRACE_PERIOD_SECONDS: '0',
      POD_NAME: 'lathe-operator-abc',
    });
    expect(config).toMatchObject({ watchNamespaces: ['ml', 'research'], workers: 16, progressQps: 2.5, leaderElection: false, logLevel: 'debug', trainerGracePeriodSeconds: 0, identity: 'lathe-operator-abc' });
    expect(loadConfig({ LATHE_LEADER_ELECTION: 'yes' }).leaderElection).toBe(true);
  });

  it('names every bad variable and what it expected', () => {
    expect(() => loadConfig({ LATHE_WORKERS: '0', LATHE_METRICS_PORT: '70000', LATHE_PROGRESS_QPS: '-1', LATHE_LOG_LEVEL: 'loud', LATHE_RESYNC_MS: '1.5' })).toThrow(
      'invalid operator configuration: LATHE_WORKERS: expected an integer from 1 to 64, got "0"; LATHE_PROGRESS_QPS: expected a positive number, got "-1"; LATHE_RESYNC_MS: expected an integer from 1, got "1.5"; LATHE_METRICS_PORT: expected an integer from 0 to 65535, got "70000"; LATHE_LOG_LEVEL: expected one of debug, info, warn, error, got "loud"',
    );
  });

  it('leaves the pods\' S3 endpoint and env Secret empty by default (IRSA on EKS), and checks them when set', () => {
    expect(loadConfig({})).toMatchObject({ podS3Endpoint: '', podEnvSecret: '' });
    expect(loadConfig({ LATHE_POD_S3_ENDPOINT: 'http://minio.lathe-system.svc:9000', LATHE_POD_ENV_SECRET: 'lathe-s3' })).toMatchObject({
      podS3Endpoint: 'http://minio.lathe-system.svc:9000',
      podEnvSecret: 'lathe-s3',
    });
    expect(() => loadConfig({ LATHE_POD_S3_ENDPOINT: 'minio:9000', LATHE_POD_ENV_SECRET: 'S3_Keys' })).toThrow(
      'invalid operator configuration: LATHE_POD_S3_ENDPOINT: expected an http:// or https:// URL, got "minio:9000"; LATHE_POD_ENV_SECRET: expected a lower-case DNS subdomain (a-z, 0-9, \'-\' and \'.\'), got "S3_Keys"',
    );
  });

  it('refuses what would otherwise be silently taken: a non-boolean, bad names, a misspelled setting', () => {
    expect(() => loadConfig({ LATHE_LEADER_ELECTION: 'flase' })).toThrow('LATHE_LEADER_ELECTION: expected true or false, got "flase"');
    expect(() => loadConfig({ LATHE_LEASE_NAMESPACE: 'Lathe_System', LATHE_TRAINER_SERVICE_ACCOUNT: 'trainer sa', LATHE_S3_BUCKET: 'My_Bucket' })).toThrow(
      'invalid operator configuration: LATHE_TRAINER_SERVICE_ACCOUNT: expected a lower-case DNS subdomain',
    );
    expect(() => loadConfig({ LATHE_LEASE_NAMESPACE: 'Lathe_System' })).toThrow('LATHE_LEASE_NAMESPACE: expected a namespace name (a-z, 0-9 and \'-\', at most 63), got "Lathe_System"');
    expect(() => loadConfig({ LATHE_S3_BUCKET: 'My_Bucket' })).toThrow('LATHE_S3_BUCKET: expected an S3 bucket name');
    expect(() => loadConfig({ LATHE_WATCH_NAMESPACES: 'ml,Research' })).toThrow('LATHE_WATCH_NAMESPACES: expected a namespace name');
    expect(() => loadConfig({ LATHE_TRAINER_IMAGE: 'registry/lathe-trainer: 1.0' })).toThrow('LATHE_TRAINER_IMAGE: expected an image reference without spaces');
    expect(() => loadConfig({ LATHE_WOKRERS: '8' })).toThrow('invalid operator configuration: LATHE_WOKRERS: not a setting; did you mean LATHE_WORKERS?');
    // Variables of the tools and tests around the operator are not settings and not typos of one.
    expect(loadConfig({ LATHE_CACHE: '/tmp', LATHE_REAL_NODE: 'false', LATHE_E2E_OPERATOR: 'external', LATHE_DEMO_METRICS_PORT: '1' }).workers).toBe(32);
  });

  it('turns the Gateway API and NetworkPolicies off by default, and parses their lists', () => {
    expect(loadConfig({})).toMatchObject({ gatewayApi: false, networkPolicies: false, networkPolicyIngressNamespaces: [], networkPolicyIngressCidrs: [], networkPolicyPrometheusNamespaces: [] });
    expect(
      loadConfig({
        LATHE_GATEWAY_API: 'true',
        LATHE_NETWORK_POLICIES: 'true',
        LATHE_NETWORK_POLICY_INGRESS_NAMESPACES: 'ingress-nginx, envoy-gateway-system',
        LATHE_NETWORK_POLICY_INGRESS_CIDRS: '10.0.0.0/16, fd00::/64',
        LATHE_NETWORK_POLICY_PROMETHEUS_NAMESPACES: 'observability',
      }),
    ).toMatchObject({
      gatewayApi: true,
      networkPolicies: true,
      networkPolicyIngressNamespaces: ['ingress-nginx', 'envoy-gateway-system'],
      networkPolicyIngressCidrs: ['10.0.0.0/16', 'fd00::/64'],
      networkPolicyPrometheusNamespaces: ['observability'],
    });
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0/16', 'vpc', '10.0.0.0/16/1']) {
      expect(() => loadConfig({ LATHE_NETWORK_POLICY_INGRESS_CIDRS: bad }), bad).toThrow(`LATHE_NETWORK_POLICY_INGRESS_CIDRS: expected CIDR blocks such as 10.0.0.0/16, got "${bad}"`);
    }
  });

  it('maps every setting to one variable (the chart sets each of them)', () => {
    const names = Object.values(CONFIG_ENV);
    expect(new Set(names).size).toBe(names.length);
    expect(Object.keys(CONFIG_ENV).sort()).toEqual(Object.keys(configWith()).sort());
  });
});
