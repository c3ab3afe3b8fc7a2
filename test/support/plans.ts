import type { Plan } from '../../src/domain/types';

export interface TestPlanOptions {
  approvalsRequired?: 1 | 2;
  durationSeconds?: number;
  namespace?: string;
  serviceAccount?: string;
  roleAssignment?: Plan['roleAssignment'];
}

/** A small frozen grant plan for the domain's unit tests (the values are placeholders, not a world's). */
export function testPlan(o: TestPlanOptions = {}): Plan {
  const namespace = o.namespace ?? 'ns';
  const name = o.serviceAccount ?? 'sa';
  return {
    kind: 'grant',
    cluster: { name: 'blue', subscriptionId: 's', resourceGroup: 'rg', aksName: 'aks' },
    identity: { subscriptionId: 's', resourceGroup: 'rg', name: 'wid-x', location: 'westeurope', tags: {}, resourceId: '/x' },
    roleAssignment: o.roleAssignment ?? { roleName: 'Reader', scope: '/subscriptions/s' },
    federatedCredential: { name: 'wid-x', issuer: 'https://i/', subject: `system:serviceaccount:${namespace}:${name}`, audiences: ['api://AzureADTokenExchange'] },
    serviceAccount: { namespace, name, annotations: {} },
    approvalsRequired: o.approvalsRequired ?? 1,
    ...(o.durationSeconds !== undefined ? { durationSeconds: o.durationSeconds } : {}),
  };
}
