/** Every variable loadConfig reads is documented in the table and in .env.example, and nothing documented is unread. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

/** Variables the loader reads, from its source (value(env, 'NAME')). */
function variablesRead(): string[] {
  const names = [...read('src/config/env.ts').matchAll(/value\(env, '([A-Z0-9_]+)'\)/g)].map((m) => m[1]!);
  // HOME and KUBERNETES_SERVICE_HOST are the platform's, not settings of wid-bot.
  return [...new Set(names)].filter((n) => n !== 'HOME' && n !== 'KUBERNETES_SERVICE_HOST').sort();
}

describe('configuration docs', () => {
  const vars = variablesRead();

  it('the loader reads the documented set', () => {
    expect(vars).toEqual(
      [
        'SLACK_MODE', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'SLACK_API_URL', 'SLACK_APPROVALS_CHANNEL',
        'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_AUTHORITY_HOST',
        'AZURE_RESOURCE_MANAGER_URL', 'AZURE_RESOURCE_MANAGER_AUDIENCE', 'KUBECONFIG', 'REDIS_URL', 'WID_REDIS_PREFIX', 'WID_REDIS_AUTH',
        'WID_POLICY_FILE', 'PORT', 'WID_ROLE', 'WID_WORKER_CONCURRENCY', 'WID_VERIFY', 'WID_VERIFY_TIMEOUT',
        'WID_AZURE_READ_LIMIT', 'WID_AZURE_WRITE_LIMIT', 'WID_AZURE_DELETE_LIMIT', 'WID_AZURE_IDENTITY_CREATE_LIMIT', 'WID_GRANT_RECONCILE_INTERVAL', 'LOG_LEVEL',
        'WID_KUBE_CONTEXTS', 'WID_KUBECONFIGS',
        'WID_INSPECT_REUSE', 'WID_INSPECT_CONCURRENCY',
      ].sort(),
    );
  });

  it('docs/CONFIGURATION.md has a table row for each, and no row for anything else', () => {
    const rows = [...read('docs/CONFIGURATION.md').matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]!).sort();
    expect(rows).toEqual(vars);
  });

  it('.env.example names each (set or commented), and nothing else', () => {
    const names = [...read('.env.example').matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
    expect([...new Set(names)].sort()).toEqual(vars);
  });
});
