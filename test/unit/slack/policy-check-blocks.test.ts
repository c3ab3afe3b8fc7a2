import type { PolicyCheckReport, PolicyProblem } from '../../../src/app/policy-check';
import { policyCheckMessage } from '../../../src/slack/blocks/policy-check';
import { validateBlocks } from '../../emulators/slack/blocks';

const checked = { 'slack-user': 3, 'slack-usergroup': 1, 'azure-scope': 4, 'azure-role': 3, cluster: 1 };
const problem = (i: number): PolicyProblem => ({ check: 'slack-user', file: 'policy.yaml', path: `approvers.users[${i}]`, problem: `Slack has no user U0NOBODY${String(i).padStart(2, '0')}`, fix: 'replace it with the member id of a current person, or remove it' });

describe('policyCheckMessage', () => {
  test('no problems: one line saying what was checked', () => {
    const m = policyCheckMessage({ file: 'policy.yaml', problems: [], checked, skipped: [] });
    expect(m.text).toBe('The policy and the live world agree: 3 Slack users, 1 usergroups, 4 scopes, 3 roles, 1 clusters checked.');
    expect(validateBlocks(m.blocks, 'message')).toEqual([]);
  });

  test('each problem with its field, what is wrong and the fix; what was not checked is said', () => {
    const report: PolicyCheckReport = { file: 'policy.yaml', problems: [problem(1), { ...problem(2), check: 'cluster', path: 'clusters[1]', problem: 'cluster green has no OIDC issuer', fix: 'az aks update -g rg -n aks-green --enable-oidc-issuer' }], checked, skipped: ['clusters (no Azure credential)'] };
    const m = policyCheckMessage(report);
    const shown = JSON.stringify(m.blocks);
    expect(shown).toContain('Policy check: 2 problems');
    expect(shown).toContain('`approvers.users[1]`: Slack has no user U0NOBODY01');
    expect(shown).toContain('*Fix:* az aks update -g rg -n aks-green --enable-oidc-issuer');
    expect(shown).toContain('Not checked: clusters (no Azure credential).');
    expect(validateBlocks(m.blocks, 'message')).toEqual([]);
  });

  test('a hundred problems stay within Block Kit limits and say how many more there are', () => {
    const m = policyCheckMessage({ file: 'policy.yaml', problems: Array.from({ length: 100 }, (_, i) => problem(i)), checked, skipped: [] });
    expect(m.blocks?.length).toBeLessThanOrEqual(50);
    expect(JSON.stringify(m.blocks)).toContain('…and 60 more');
    expect(validateBlocks(m.blocks, 'message')).toEqual([]);
  });
});
