import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, describeConfig, loadConfig, normaliseSlackApiUrl } from '../../../src/config/env';
import { createLogger } from '../../../src/observability/logger';

const repoRoot = path.resolve(__dirname, '../../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'wid-config-'));
const kubeconfig = path.join(dir, 'kubeconfig');
writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
const home = mkdtempSync(path.join(os.tmpdir(), 'wid-home-'));

const SECRETS = {
  SLACK_BOT_TOKEN: 'xoxb-1111-2222-botsecretvalue',
  SLACK_SIGNING_SECRET: '8f742231b10e8888abcd99yyyzzz85a5',
  SLACK_APP_TOKEN: 'xapp-1-A111-222-appsecretvalue',
  AZURE_CLIENT_SECRET: 'azure-client-secret-value~123',
};

function validEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    HOME: home,
    SLACK_BOT_TOKEN: SECRETS.SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET: SECRETS.SLACK_SIGNING_SECRET,
    AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    AZURE_CLIENT_ID: '11111111-2222-4333-8444-555555555555',
    AZURE_CLIENT_SECRET: SECRETS.AZURE_CLIENT_SECRET,
    KUBECONFIG: kubeconfig,
    REDIS_URL: 'redis://:redispassword@redis:6379',
    WID_POLICY_FILE: path.join(repoRoot, 'policy.example.yaml'),
    ...extra,
  };
}

function problemsOf(env: NodeJS.ProcessEnv, options?: Parameters<typeof loadConfig>[1]): ConfigError {
  try {
    loadConfig(env, options);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('reads a complete environment with the documented defaults', () => {
    const c = loadConfig(validEnv());
    expect(c.role).toBe('all');
    expect(c.slack).toMatchObject({ mode: 'http', botToken: SECRETS.SLACK_BOT_TOKEN, signingSecret: SECRETS.SLACK_SIGNING_SECRET });
    expect(c.slack.apiUrl).toBeUndefined();
    expect(c.azure.resourceManagerUrl).toBe('https://management.azure.com');
    expect(c.azure.limits).toEqual({
      reads: { burst: 250, perSecond: 25 },
      writes: { burst: 200, perSecond: 10 },
      deletes: { burst: 200, perSecond: 10 },
      identityCreates: { burst: 80, perSecond: 4 },
    });
    expect(c.kube).toEqual({ kubeconfig, inCluster: false });
    expect(c.redis).toEqual({ url: 'redis://:redispassword@redis:6379', prefix: 'wid', auth: 'url' });
    expect(c.policy.policy.clusters.map((x) => x.name)).toEqual(['blue', 'green']);
    expect(c.http.port).toBe(3000);
    expect(c.worker).toEqual({ concurrency: 4, verify: true, verifyTimeoutSeconds: 120, grantReconcileSeconds: 120 });
    expect(c.log.level).toBe('info');
  });

  it('reads every optional variable', () => {
    const c = loadConfig(
      validEnv({
        PORT: '8080',
        WID_ROLE: 'worker',
        WID_WORKER_CONCURRENCY: '9',
        WID_VERIFY: 'false',
        WID_VERIFY_TIMEOUT: '1m30s',
        WID_AZURE_WRITE_LIMIT: '100/5',
        WID_AZURE_IDENTITY_CREATE_LIMIT: ' 40 / 2.5 ',
        WID_REDIS_PREFIX: 'wid-prod',
        LOG_LEVEL: 'DEBUG',
        SLACK_APPROVALS_CHANNEL: 'C0WIDAPPROV',
        AZURE_RESOURCE_MANAGER_URL: 'https://management.usgovcloudapi.net/',
        AZURE_RESOURCE_MANAGER_AUDIENCE: 'https://management.core.usgovcloudapi.net',
      }),
    );
    expect(c.role).toBe('worker');
    expect(c.http.port).toBe(8080);
    expect(c.worker).toEqual({ concurrency: 9, verify: false, verifyTimeoutSeconds: 90, grantReconcileSeconds: 120 });
    expect(c.azure.limits.writes).toEqual({ burst: 100, perSecond: 5 });
    expect(c.azure.limits.identityCreates).toEqual({ burst: 40, perSecond: 2.5 });
    expect(c.azure.limits.reads).toEqual({ burst: 250, perSecond: 25 });
    expect(c.azure.resourceManagerUrl).toBe('https://management.usgovcloudapi.net');
    expect(c.redis.prefix).toBe('wid-prod');
    expect(c.log.level).toBe('debug');
    expect(c.slack.approvalsChannel).toBe('C0WIDAPPROV');
  });

  it('names every missing required variable in one error, each with what is expected', () => {
    const e = problemsOf({ HOME: home });
    const vars = e.problems.map((p) => p.variable).sort();
    expect(vars).toEqual(['KUBECONFIG', 'REDIS_URL', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'WID_POLICY_FILE']);
    expect(e.message).toContain('5 problems');
    expect(e.message).toContain('SLACK_SIGNING_SECRET is required when SLACK_MODE=http (the app\'s Signing Secret: 32 hexadecimal characters');
    expect(e.message).toContain('Basic Information → App Credentials → Signing Secret');
    expect(e.message).toContain('SLACK_BOT_TOKEN is required (the Bot User OAuth Token, xoxb-');
    expect(e.message).toContain('REDIS_URL is required (redis://');
    expect(e.message).toContain('WID_POLICY_FILE is required');
    expect(e.message).toContain('KUBECONFIG is required outside a Kubernetes pod');
  });

  it('refuses .env.example\'s placeholder signing secret, saying what one looks like and where it is, without echoing it', () => {
    const placeholder = /^SLACK_SIGNING_SECRET=(.*)$/m.exec(readFileSync(path.join(repoRoot, '.env.example'), 'utf8'))?.[1];
    expect(placeholder).toBe('your-signing-secret');
    const e = problemsOf(validEnv({ SLACK_SIGNING_SECRET: placeholder }));
    expect(e.problems.map((p) => p.variable)).toEqual(['SLACK_SIGNING_SECRET']);
    expect(e.message).toContain('32 hexadecimal characters');
    expect(e.message).toContain('Basic Information → App Credentials');
    expect(e.message).not.toContain('your-signing-secret');
  });

  it('names every invalid variable in one error', () => {
    const e = problemsOf(
      validEnv({
        SLACK_MODE: 'websocket',
        SLACK_BOT_TOKEN: 'xoxp-user-token',
        SLACK_API_URL: 'not a url',
        SLACK_APPROVALS_CHANNEL: '#approvals',
        AZURE_CLIENT_ID: 'wid-bot',
        AZURE_RESOURCE_MANAGER_URL: 'management.azure.com',
        REDIS_URL: 'http://redis:6379',
        PORT: '70000',
        WID_ROLE: 'both',
        WID_WORKER_CONCURRENCY: '0',
        WID_VERIFY: 'maybe',
        WID_VERIFY_TIMEOUT: 'soon',
        WID_AZURE_WRITE_LIMIT: '10',
        WID_AZURE_READ_LIMIT: '0/25',
        LOG_LEVEL: 'loud',
        KUBECONFIG: path.join(dir, 'missing-kubeconfig'),
      }),
    );
    const vars = e.problems.map((p) => p.variable).sort();
    expect(vars).toEqual(
      [
        'SLACK_MODE',
        'SLACK_BOT_TOKEN',
        'SLACK_API_URL',
        'SLACK_APPROVALS_CHANNEL',
        'AZURE_CLIENT_ID',
        'AZURE_RESOURCE_MANAGER_URL',
        'REDIS_URL',
        'PORT',
        'WID_ROLE',
        'WID_WORKER_CONCURRENCY',
        'WID_VERIFY',
        'WID_VERIFY_TIMEOUT',
        'WID_AZURE_WRITE_LIMIT',
        'WID_AZURE_READ_LIMIT',
        'LOG_LEVEL',
        'KUBECONFIG',
      ].sort(),
    );
    expect(e.message).toContain('SLACK_MODE must be http or socket');
    expect(e.message).toContain('WID_VERIFY_TIMEOUT must be a duration like 2m');
    expect(e.message).toContain('missing-kubeconfig');
    // The bad token is named, never echoed.
    expect(e.message).not.toContain('xoxp-user-token');
  });

  it('includes the policy file\'s own problems in the list', () => {
    const bad = path.join(dir, 'bad-policy.yaml');
    writeFileSync(bad, 'clusters: []\nidentities: {}\nroles: []\nnamespaces: []\n');
    const e = problemsOf(validEnv({ WID_POLICY_FILE: bad, PORT: 'eighty' }));
    const policyLines = e.problems.filter((p) => p.variable === 'WID_POLICY_FILE');
    expect(policyLines.length).toBeGreaterThanOrEqual(3);
    expect(policyLines.map((p) => p.message).join('\n')).toMatch(/clusters: expected at least one cluster/);
    expect(e.problems.some((p) => p.variable === 'PORT')).toBe(true);
    expect(problemsOf(validEnv({ WID_POLICY_FILE: path.join(dir, 'nope.yaml') })).message).toContain('the file does not exist');
  });

  it('socket mode needs SLACK_APP_TOKEN and not the signing secret', () => {
    const e = problemsOf(validEnv({ SLACK_MODE: 'socket', SLACK_SIGNING_SECRET: undefined }));
    expect(e.problems.map((p) => p.variable)).toEqual(['SLACK_APP_TOKEN']);
    expect(e.message).toContain('SLACK_APP_TOKEN is required when SLACK_MODE=socket');
    expect(problemsOf(validEnv({ SLACK_MODE: 'socket', SLACK_APP_TOKEN: 'xoxb-wrong-kind' })).message).toContain('SLACK_APP_TOKEN must be an app-level token starting with xapp-');
    const c = loadConfig(validEnv({ SLACK_MODE: 'socket', SLACK_SIGNING_SECRET: undefined, SLACK_APP_TOKEN: SECRETS.SLACK_APP_TOKEN }));
    expect(c.slack.mode).toBe('socket');
    expect(c.slack.appToken).toBe(SECRETS.SLACK_APP_TOKEN);
  });

  it('normalises SLACK_API_URL to end with /api/', () => {
    expect(normaliseSlackApiUrl('http://127.0.0.1:3999')).toBe('http://127.0.0.1:3999/api/');
    expect(normaliseSlackApiUrl('http://127.0.0.1:3999/api')).toBe('http://127.0.0.1:3999/api/');
    expect(normaliseSlackApiUrl('https://slack.com/api/')).toBe('https://slack.com/api/');
    expect(normaliseSlackApiUrl('https://slack.example//')).toBe('https://slack.example/api/');
    expect(loadConfig(validEnv({ SLACK_API_URL: 'http://127.0.0.1:3999' })).slack.apiUrl).toBe('http://127.0.0.1:3999/api/');
  });

  it('the --role flag wins over WID_ROLE, and each role asks only for what it uses', () => {
    expect(loadConfig(validEnv({ WID_ROLE: 'worker' }), { role: 'web' }).role).toBe('web');
    expect(problemsOf(validEnv(), { role: 'everything' }).message).toContain('--role must be all, web or worker');
    // A web-only process needs no Kubernetes access; a worker-only one no signing secret.
    expect(loadConfig(validEnv({ KUBECONFIG: undefined }), { role: 'web' }).role).toBe('web');
    expect(loadConfig(validEnv({ SLACK_SIGNING_SECRET: undefined }), { role: 'worker' }).role).toBe('worker');
    expect(problemsOf(validEnv({ KUBECONFIG: undefined }), { role: 'worker' }).problems.map((p) => p.variable)).toEqual(['KUBECONFIG']);
  });

  it('uses the in-cluster ServiceAccount when KUBERNETES_SERVICE_HOST is set and KUBECONFIG is not', () => {
    const c = loadConfig(validEnv({ KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: '10.0.0.1' }));
    expect(c.kube).toEqual({ inCluster: true });
  });

  it('a client secret or federated token file needs the tenant and client ids', () => {
    const e = problemsOf(validEnv({ AZURE_TENANT_ID: undefined, AZURE_CLIENT_ID: undefined }));
    expect(e.problems.map((p) => p.variable).sort()).toEqual(['AZURE_CLIENT_ID', 'AZURE_TENANT_ID']);
    expect(e.message).toContain('AZURE_TENANT_ID is required when AZURE_CLIENT_SECRET is set');
    const wi = problemsOf(validEnv({ AZURE_CLIENT_SECRET: undefined, AZURE_FEDERATED_TOKEN_FILE: path.join(dir, 'no-token') }));
    expect(wi.problems.map((p) => p.variable)).toEqual(['AZURE_FEDERATED_TOKEN_FILE']);
    const tokenFile = path.join(dir, 'azure-identity-token');
    writeFileSync(tokenFile, 'eyJhbGciOi.jwt.sig');
    expect(loadConfig(validEnv({ AZURE_CLIENT_SECRET: undefined, AZURE_FEDERATED_TOKEN_FILE: tokenFile })).azure.federatedTokenFile).toBe(tokenFile);
  });

  it('treats blank values as unset', () => {
    const e = problemsOf(validEnv({ REDIS_URL: '  ', PORT: '' }));
    expect(e.problems.map((p) => p.variable)).toEqual(['REDIS_URL']);
  });
});

describe('describeConfig', () => {
  it('shows the settings and never a secret value', () => {
    const c = loadConfig(validEnv({ SLACK_MODE: 'socket', SLACK_APP_TOKEN: SECRETS.SLACK_APP_TOKEN }));
    const text = JSON.stringify(describeConfig(c));
    for (const secret of [...Object.values(SECRETS), 'redispassword']) expect(text).not.toContain(secret);
    const d = describeConfig(c) as { slack: Record<string, unknown>; azure: Record<string, unknown>; redis: Record<string, unknown> };
    expect(d.slack.credentials).toEqual(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN']);
    expect(d.slack.mode).toBe('socket');
    expect(d.azure.credentials).toEqual(['AZURE_CLIENT_SECRET']);
    expect(d.azure.login).toBe('client secret');
    expect(d.azure.clientId).toBe('11111111-2222-4333-8444-555555555555');
    expect(d.redis.url).toBe('redis://:[redacted]@redis:6379');
  });

  it('says which credentials are set, and survives the logger readable and secret-free', () => {
    const config = loadConfig(validEnv());
    const d = describeConfig(config) as { slack: Record<string, unknown> };
    expect(d.slack.credentials).toEqual(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET']);
    const chunks: string[] = [];
    const log = createLogger({ destination: { write: (s: string) => void chunks.push(s) } });
    log.info({ config: describeConfig(config) }, 'starting');
    const line = JSON.parse(chunks.join('')) as { config: { slack: { credentials: string[] }; redis: { url: string } } };
    expect(line.config.slack.credentials).toEqual(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET']);
    expect(line.config.redis.url).toBe('redis://:[redacted]@redis:6379');
    for (const secret of [...Object.values(SECRETS), 'redispassword']) expect(chunks.join('')).not.toContain(secret);
  });
});

describe('per-cluster Kubernetes settings', () => {
  it('without WID_KUBE_CONTEXTS / WID_KUBECONFIGS every cluster uses KUBECONFIG, as before', () => {
    expect(loadConfig(validEnv()).kube.clusters).toBeUndefined();
  });

  it('reads each policy cluster\'s context and file', () => {
    const green = path.join(dir, 'kubeconfig-green');
    writeFileSync(green, 'apiVersion: v1\nkind: Config\n');
    const c = loadConfig(validEnv({ WID_KUBE_CONTEXTS: 'blue=aks-prod-blue,green=aks-prod-green', WID_KUBECONFIGS: `green=${green}` }));
    expect(c.kube.clusters).toEqual({ blue: { context: 'aks-prod-blue' }, green: { context: 'aks-prod-green', kubeconfigPath: green } });
    expect(describeConfig(c).kube).toEqual({ source: kubeconfig, clusters: { blue: 'context aks-prod-blue', green: `${green}, context aks-prod-green` } });
  });

  it('refuses clusters the policy does not name, repeats and missing files, each with its variable', () => {
    const e = problemsOf(validEnv({ WID_KUBE_CONTEXTS: 'purple=x,blue=a,blue=b', WID_KUBECONFIGS: `green=${path.join(dir, 'nope')}` }));
    expect(e.problems).toEqual([
      { variable: 'WID_KUBE_CONTEXTS', message: 'WID_KUBE_CONTEXTS names the cluster "purple", which is not in the policy (clusters: blue, green)' },
      { variable: 'WID_KUBE_CONTEXTS', message: 'WID_KUBE_CONTEXTS gives the cluster "blue" twice; give it once' },
      { variable: 'WID_KUBECONFIGS', message: `WID_KUBECONFIGS names "${path.join(dir, 'nope')}" for the cluster "green", which does not exist (a kubeconfig file for that cluster)` },
    ]);
    // only the worker needs the files
    expect(loadConfig(validEnv({ WID_KUBECONFIGS: `green=${path.join(dir, 'nope')}` }), { role: 'web' }).kube.clusters).toEqual({ green: { kubeconfigPath: path.join(dir, 'nope') } });
  });
});
