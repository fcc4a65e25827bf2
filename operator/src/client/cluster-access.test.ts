import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fromKubeconfigFiles, inCluster, loadClusterAccess } from './cluster-access.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lathe-access-'));
});

function write(name: string, content: string | object): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : stringify(content));
  return file;
}

function kubeconfig(user: object, cluster: object = { server: 'https://api.example:6443/' }, extra: object = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'ctx',
    clusters: [{ name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'ml' } }],
    ...extra,
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('fromKubeconfigFiles', () => {
  it('reads inline certificates, the server without its trailing slash, and the namespace', async () => {
    const file = write('config', kubeconfig({ 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') }, { server: 'https://api.example:6443/', 'certificate-authority-data': b64('CA'), 'tls-server-name': 'kubernetes' }));
    const access = fromKubeconfigFiles([file]);
    expect(access.server).toBe('https://api.example:6443');
    expect(access.tls.ca?.toString()).toBe('CA');
    expect(access.tls.cert?.toString()).toBe('CERT');
    expect(access.tls.key?.toString()).toBe('KEY');
    expect(access.tls.servername).toBe('kubernetes');
    expect(access.tls.rejectUnauthorized).toBe(true);
    expect(access.namespace).toBe('ml');
    expect(await access.token()).toBeUndefined();
    expect(access.source).toContain('context ctx');
  });

  it('resolves certificate files relative to the kubeconfig, as kubectl does', () => {
    write('ca.crt', 'CA-FILE');
    write('client.crt', 'CERT-FILE');
    write('client.key', 'KEY-FILE');
    const file = write('config', kubeconfig({ 'client-certificate': 'client.crt', 'client-key': 'client.key' }, { server: 'https://x', 'certificate-authority': 'ca.crt', 'insecure-skip-tls-verify': true }));
    const access = fromKubeconfigFiles([file]);
    expect(access.tls.ca?.toString()).toBe('CA-FILE');
    expect(access.tls.cert?.toString()).toBe('CERT-FILE');
    expect(access.tls.key?.toString()).toBe('KEY-FILE');
    expect(access.tls.rejectUnauthorized).toBe(false);
  });

  it('merges several files: the first definition of a name and the first current-context win', async () => {
    const first = write('a', { 'current-context': 'second', users: [{ name: 'u', user: { token: 'from-a' } }] });
    const second = write('b', {
      'current-context': 'ignored',
      clusters: [{ name: 'c', cluster: { server: 'https://b' } }],
      users: [{ name: 'u', user: { token: 'from-b' } }],
      contexts: [{ name: 'second', context: { cluster: 'c', user: 'u' } }],
    });
    const access = fromKubeconfigFiles([first, path.join(dir, 'missing'), second]);
    expect(access.server).toBe('https://b');
    expect(await access.token()).toBe('from-a');
  });

  it('re-reads a token file after a 401 (invalidate)', async () => {
    const tokenFile = write('token', 'one\n');
    const access = fromKubeconfigFiles([write('config', kubeconfig({ tokenFile: 'token' }))]);
    expect(await access.token()).toBe('one');
    writeFileSync(tokenFile, 'two');
    expect(await access.token()).toBe('one'); // cached for a minute
    access.invalidate();
    expect(await access.token()).toBe('two');
  });

  it('names what is wrong with a kubeconfig it cannot use', () => {
    expect(() => fromKubeconfigFiles([write('none', kubeconfig({}, {}, { 'current-context': '' }))])).toThrow(/no current-context/);
    expect(() => fromKubeconfigFiles([write('ctx', kubeconfig({}, {}, { 'current-context': 'other' }))])).toThrow(/context "other" not found/);
    expect(() => fromKubeconfigFiles([write('srv', kubeconfig({}, {}))])).toThrow(/cluster "c" of context "ctx" not found or has no server/);
    expect(() => fromKubeconfigFiles([write('ap', kubeconfig({ 'auth-provider': { name: 'oidc' } }))])).toThrow(/auth-provider.*exec credential plugin/);
    expect(() => fromKubeconfigFiles([write('half', kubeconfig({ 'client-certificate-data': b64('CERT') }))])).toThrow(/without a key/);
  });

  it('refuses settings it does not implement instead of ignoring them: impersonation, proxy-url, an interactive plugin', () => {
    expect(() => fromKubeconfigFiles([write('as', kubeconfig({ token: 't', as: 'admin', 'as-groups': ['system:masters'] }))])).toThrow(
      /user "u" impersonates \(as, as-groups\), which Lathe does not support/,
    );
    expect(() => fromKubeconfigFiles([write('proxy', kubeconfig({ token: 't' }, { server: 'https://api.example:6443', 'proxy-url': 'http://proxy:3128' }))])).toThrow(
      /cluster "c" has a proxy-url, which Lathe does not support/,
    );
    expect(() => fromKubeconfigFiles([write('tty', kubeconfig({ exec: { command: 'login', interactiveMode: 'Always' } }))])).toThrow(/interactiveMode Always; the operator has no terminal/);
    // Harmless extras stay accepted.
    expect(fromKubeconfigFiles([write('ok', kubeconfig({ token: 't' }, { server: 'https://api.example:6443', 'disable-compression': true }))]).server).toBe('https://api.example:6443');
  });
});

describe('exec credential plugins', () => {
  // A real plugin process (node running a script), as `aws eks get-token` would be run.
  let calls: string;
  let plugin: string;
  beforeEach(() => {
    calls = path.join(dir, 'calls');
    writeFileSync(calls, '');
    plugin = write(
      'plugin.mjs',
      `import { appendFileSync } from 'node:fs';
       const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
       appendFileSync(${JSON.stringify(calls)}, (info.spec.cluster ? info.spec.cluster.server : '(no cluster info)') + ' ' + process.env.PLUGIN_ARG + '\\n');
       if (process.env.PLUGIN_ARG === 'info') appendFileSync(${JSON.stringify(calls)}, JSON.stringify(info.spec) + '\\n');
       if (process.env.PLUGIN_ARG === 'fail') { console.error('no credentials for you'); process.exit(3); }
       const expires = process.env.PLUGIN_ARG === 'expired' ? new Date(Date.now() - 1000) : new Date(Date.now() + 3600e3);
       console.log(JSON.stringify({ apiVersion: info.apiVersion, kind: 'ExecCredential', status: { token: 'tok-' + process.argv[2], expirationTimestamp: expires.toISOString() } }));`,
    );
  });
  const execUser = (arg: string, more: object = { provideClusterInfo: true }) => ({
    exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: process.execPath, args: [plugin, 'x'], env: [{ name: 'PLUGIN_ARG', value: arg }], ...more },
  });
  const runs = () => readFileSync(calls, 'utf8').split('\n').filter(Boolean);

  it('runs the plugin once for concurrent requests and caches the token until it expires', async () => {
    const access = fromKubeconfigFiles([write('config', kubeconfig(execUser('ok')))]);
    expect(await Promise.all([access.token(), access.token()])).toEqual(['tok-x', 'tok-x']);
    expect(await access.token()).toBe('tok-x');
    expect(runs()).toEqual(['https://api.example:6443/ ok']);
    access.invalidate();
    await access.token();
    expect(runs()).toHaveLength(2);
  });

  it('runs it again when the token has expired', async () => {
    const access = fromKubeconfigFiles([write('config', kubeconfig(execUser('expired')))]);
    await access.token();
    await access.token();
    expect(runs()).toHaveLength(2);
  });

  it('gives the plugin the cluster (CA and exec config included) only when it asks (provideClusterInfo)', async () => {
    const cluster = {
      server: 'https://api.example:6443',
      'certificate-authority-data': b64('CA'),
      'tls-server-name': 'api.internal',
      extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { region: 'eu-west-1' } }],
    };
    await fromKubeconfigFiles([write('with', kubeconfig(execUser('info'), cluster))]).token();
    expect(JSON.parse(runs()[1]!)).toEqual({
      interactive: false,
      cluster: { server: 'https://api.example:6443', 'tls-server-name': 'api.internal', 'certificate-authority-data': b64('CA'), config: { region: 'eu-west-1' } },
    });
    await fromKubeconfigFiles([write('without', kubeconfig(execUser('info', {}), cluster))]).token();
    expect(runs()[2]).toBe('(no cluster info) info');
    expect(JSON.parse(runs()[3]!)).toEqual({ interactive: false });
  });

  it('says how to install a plugin that is not there (installHint)', async () => {
    const access = fromKubeconfigFiles([write('missing', kubeconfig({ exec: { command: path.join(dir, 'no-such-plugin'), installHint: 'install the AWS CLI v2' } }))]);
    await expect(access.token()).rejects.toThrow(/exec credential plugin .*no-such-plugin failed: .*ENOENT.* \(install the AWS CLI v2\)/);
  });

  it("reports the plugin's own error", async () => {
    const access = fromKubeconfigFiles([write('config', kubeconfig(execUser('fail')))]);
    await expect(access.token()).rejects.toThrow(/exec credential plugin .* failed: no credentials for you/);
  });
});

describe('loadClusterAccess', () => {
  let sa: string;
  beforeEach(() => {
    sa = mkdtempSync(path.join(tmpdir(), 'lathe-sa-'));
    writeFileSync(path.join(sa, 'token'), 'sa-token');
    writeFileSync(path.join(sa, 'ca.crt'), 'CLUSTER-CA');
    writeFileSync(path.join(sa, 'namespace'), 'lathe-system\n');
  });

  it('prefers $KUBECONFIG, then the pod ServiceAccount, then ~/.kube/config', async () => {
    const file = write('config', kubeconfig({ token: 'kubeconfig-token' }));
    expect(await loadClusterAccess({ KUBECONFIG: file, KUBERNETES_SERVICE_HOST: '10.0.0.1' }, sa).token()).toBe('kubeconfig-token');

    const pod = loadClusterAccess({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443', HOME: dir }, sa);
    expect(pod.server).toBe('https://[fd00::1]:443');
    expect(pod.tls.ca?.toString()).toBe('CLUSTER-CA');
    expect(pod.namespace).toBe('lathe-system');
    expect(await pod.token()).toBe('sa-token');

    const home = mkdtempSync(path.join(tmpdir(), 'lathe-home-'));
    expect(() => loadClusterAccess({ HOME: home }, sa)).toThrow(/no cluster to talk to/);
    mkdirSync(path.join(home, '.kube'));
    writeFileSync(path.join(home, '.kube', 'config'), stringify(kubeconfig({ token: 'home-token' })));
    expect(await loadClusterAccess({ HOME: home }, sa).token()).toBe('home-token');
  });

  it('builds the in-cluster address from the service environment', () => {
    expect(inCluster({ KUBERNETES_SERVICE_HOST: '10.100.0.1', KUBERNETES_SERVICE_PORT: '6443' }, sa).server).toBe('https://10.100.0.1:6443');
  });
});
