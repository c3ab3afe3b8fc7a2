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
  withdraw: 'wid_withdraw',
  /** App Home: Previous / Next on a paged list; value `<list>:<page>`. */
  homePage: 'wid_home_page',
  /** Previous on a paged list (an action_id must be unique within its block). */
  homePageBack: 'wid_home_page_back',
  /** The requester approves their own request (only shown when the policy enables break-glass). */
  breakGlass: 'wid_break_glass',
  /** Operators' Home tab: run `audit` on every cluster and show its counts. */
  homeRunAudit: 'wid_home_run_audit',
  /** On an audit or legacy finding wid-bot can repair: opens the request form prefilled with the ServiceAccount. */
  fixRequest: 'wid_fix_request',
  /** On an audit finding wid-bot can repair (a grant past its end, an orphaned wid-bot identity): asks for a revoke request. */
  fixRevoke: 'wid_fix_revoke',
} as const;

export const CALLBACK = {
  requestModal: 'wid_request_modal',
  denyModal: 'wid_deny_modal',
  breakGlassModal: 'wid_break_glass_modal',
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

export const BREAK_GLASS_BLOCK = { reason: 'wid_break_glass_reason' } as const;

/** The action id of the single element inside each input block. */
export const INPUT_ACTION = 'value';
