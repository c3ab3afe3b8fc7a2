/**
 * The request modal (what the policy lets this person ask for) and the deny-reason modal.
 */
import type { KnownBlock, ModalView, PlainTextOption } from '@slack/types';
import type { RequestOptions } from '../../domain/policy';
import { isScopePattern } from '../../domain/scopes';
import { CALLBACK, DENY_BLOCK, INPUT_ACTION, REQUEST_BLOCK } from '../ids';
import { clip, duration, LIMIT, section } from './text';

export interface RequestModalMetadata {
  /** Where the command was typed: confirmations go there. */
  channel: string;
}

export interface DenyModalMetadata {
  requestId: string;
  channel: string;
  ts: string;
}

function option(value: string, label: string): PlainTextOption {
  return { text: { type: 'plain_text', text: clip(label, LIMIT.optionText) }, value };
}

const SELECT_MAX = 100;

function input(blockId: string, label: string, element: Record<string, unknown>, opts: { optional?: boolean; hint?: string } = {}): KnownBlock {
  return {
    type: 'input',
    block_id: blockId,
    label: { type: 'plain_text', text: clip(label, 2000) },
    element: { action_id: INPUT_ACTION, ...element },
    ...(opts.optional ? { optional: true } : {}),
    ...(opts.hint ? { hint: { type: 'plain_text', text: clip(opts.hint, 2000) } } : {}),
  } as KnownBlock;
}

/** How the scope is asked: nothing to ask, a choice among exact scopes, or free text. */
export function scopeQuestion(options: RequestOptions): { kind: 'none' } | { kind: 'select'; scopes: string[] } | { kind: 'input'; hint: string } {
  const roles = options.namespaces.flatMap((n) => n.roles);
  const patterns = roles.some((r) => r.scopes.some(isScopePattern));
  const exact = [...new Set(roles.flatMap((r) => [...(r.defaultScope ? [r.defaultScope] : []), ...r.scopes.filter((s) => !isScopePattern(s))]))];
  const everyRoleHasDefault = roles.every((r) => r.defaultScope !== undefined || (r.scopes.length === 1 && !isScopePattern(r.scopes[0] as string)));
  if (!patterns && exact.length <= 1) return { kind: 'none' };
  if (!patterns && exact.length <= SELECT_MAX && exact.every((s) => s.length <= LIMIT.optionValue)) return { kind: 'select', scopes: exact };
  const hint = everyRoleHasDefault ? 'ARM resource id. Leave empty for the namespace default.' : 'ARM resource id of what the role applies to, e.g. a Key Vault or storage account. Leave empty where the namespace has a default.';
  return { kind: 'input', hint };
}

/** What the form starts with (a Request button on a finding): a namespace the person may request in, and a ServiceAccount. */
export interface RequestModalPrefill {
  namespace?: string;
  serviceAccount?: string;
}

export function requestModal(options: RequestOptions, metadata: RequestModalMetadata, prefill: RequestModalPrefill = {}): ModalView {
  const blocks: KnownBlock[] = [];
  const namespaces = options.namespaces.slice(0, SELECT_MAX);
  const initialNamespace = namespaces.find((n) => n.name === prefill.namespace);
  const initialServiceAccount = prefill.serviceAccount?.slice(0, 253);
  const allRoles = [...new Map(namespaces.flatMap((n) => n.roles).map((r) => [r.name, r])).values()];
  // an option value holds at most 150 characters; longer role names can still be typed with /wid request
  const roles = allRoles.filter((r) => r.name.length <= LIMIT.optionValue).slice(0, SELECT_MAX);
  const typedOnly = allRoles.length - roles.length;
  blocks.push(
    input(REQUEST_BLOCK.namespace, 'Namespace', {
      type: 'static_select',
      placeholder: { type: 'plain_text', text: 'Choose a namespace' },
      options: namespaces.map((n) => option(n.name, n.name)),
      ...(initialNamespace ? { initial_option: option(initialNamespace.name, initialNamespace.name) } : {}),
    }),
  );
  blocks.push(
    input(
      REQUEST_BLOCK.serviceAccount,
      'ServiceAccount',
      { type: 'plain_text_input', max_length: 253, placeholder: { type: 'plain_text', text: 'e.g. backend-sa' }, ...(initialServiceAccount ? { initial_value: initialServiceAccount } : {}) },
      { hint: 'The Kubernetes ServiceAccount your pods run as; wid-bot creates it if it does not exist.' },
    ),
  );
  blocks.push(
    input(REQUEST_BLOCK.role, 'Azure role', {
      type: 'static_select',
      placeholder: { type: 'plain_text', text: 'Choose a role' },
      options: roles.map((r) => option(r.name, `${r.name}${r.approvals > 1 ? ' (2 approvals)' : ''}`)),
    }, typedOnly > 0 ? { hint: `${typedOnly} role${typedOnly === 1 ? ' has a name' : 's have names'} too long for this menu; request ${typedOnly === 1 ? 'it' : 'them'} with /wid request <namespace> <serviceaccount> <role…>.` } : {}),
  );
  const scope = scopeQuestion(options);
  if (scope.kind === 'select') {
    blocks.push(input(REQUEST_BLOCK.scope, 'Scope', { type: 'static_select', placeholder: { type: 'plain_text', text: 'Namespace default' }, options: scope.scopes.map((s) => option(s, s.split('/').slice(-1)[0] ?? s)) }, { optional: true }));
  } else if (scope.kind === 'input') {
    blocks.push(input(REQUEST_BLOCK.scope, 'Scope', { type: 'plain_text_input', max_length: 1000 }, { optional: true, hint: scope.hint }));
  }
  const timeBound = roles.filter((r) => r.maxDurationSeconds !== undefined);
  if (timeBound.length > 0) {
    const limits = timeBound.map((r) => `${r.name}: up to ${duration(r.maxDurationSeconds as number)}`).join('; ');
    blocks.push(input(REQUEST_BLOCK.duration, 'Duration', { type: 'plain_text_input', max_length: 20, placeholder: { type: 'plain_text', text: 'e.g. 8h or 7d' } }, { optional: true, hint: `Only for time-bound roles (${limits}). Leave empty for the longest allowed.` }));
  }
  blocks.push(input(REQUEST_BLOCK.reason, 'Why do you need it?', { type: 'plain_text_input', multiline: true, max_length: 2000 }, { hint: 'Approvers see this.' }));
  return {
    type: 'modal',
    callback_id: CALLBACK.requestModal,
    title: { type: 'plain_text', text: 'Request Azure access' },
    submit: { type: 'plain_text', text: 'Request' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: clip(JSON.stringify(metadata), LIMIT.privateMetadata),
    blocks,
  };
}

/** Shown instead of the form when the policy lets this person request nothing. */
export function nothingToRequestModal(): ModalView {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: 'Request Azure access' },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [section('The policy does not let you request access in any namespace. Ask the platform team to add you as a requester.')],
  };
}

export function denyModal(metadata: DenyModalMetadata): ModalView {
  return {
    type: 'modal',
    callback_id: CALLBACK.denyModal,
    title: { type: 'plain_text', text: 'Deny request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify(metadata),
    blocks: [
      section(`Deny request \`${metadata.requestId}\`? The requester sees your reason.`),
      input(DENY_BLOCK.reason, 'Reason', { type: 'plain_text_input', multiline: true, max_length: 2000 }),
    ],
  };
}
