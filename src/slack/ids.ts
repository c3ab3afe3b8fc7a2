/**
 * Every Slack action id, callback id and modal block id wid-bot uses, in one place: the listeners
 * register on these and the block builders put them on buttons and inputs.
 */

/** The slash command (Slack app manifest: /wid). */
export const COMMAND = '/wid';

export const ACTION = {
  approve: 'wid_approve',
  deny: 'wid_deny',
  retry: 'wid_retry',
  grantExtend: 'wid_grant_extend',
  grantDone: 'wid_grant_done',
  /** Beside each AzureIdentityBinding of /wid legacy: starts /wid migrate for it. */
  migrate: 'wid_migrate',
  /** On a migration's result: removes the binding and its AzureIdentity once the pods moved. */
  migrateFinish: 'wid_migrate_finish',
  refederateApprove: 'wid_refederate_approve',
  refederateDeny: 'wid_refederate_deny',
  refederateRemoveOld: 'wid_refederate_remove_old',
  refederateRetry: 'wid_refederate_retry',
  /** On the audit's credential-issuer-changed finding: plans `/wid refederate <cluster>` for the clicker. */
  refederateStart: 'wid_refederate_start',
} as const;

export const CALLBACK = {
  requestModal: 'wid_request_modal',
  denyModal: 'wid_deny_modal',
} as const;

/** Block ids of the request modal's inputs; field errors are keyed by these. */
export const REQUEST_BLOCK = {
  namespace: 'wid_ns',
  serviceAccount: 'wid_sa',
  role: 'wid_role',
  scope: 'wid_scope',
  duration: 'wid_duration',
  reason: 'wid_reason',
} as const;

export const DENY_BLOCK = { reason: 'wid_deny_reason' } as const;

/** The action id of the single element inside each input block. */
export const INPUT_ACTION = 'value';
