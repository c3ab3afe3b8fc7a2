/**
 * Block Kit for `/wid migrate`: the plan's fields (the adopted identity, the binding, the roles it already
 * holds), the result reply (the pods the binding covers, the Deployment change, a Finish button) and
 * Finish's answer. Pure functions of the request.
 */
import type { KnownBlock } from '@slack/types';
import { deploymentPatch, deploymentPatchCommand, LABEL_POD_IDENTITY_BINDING } from '../../domain/migrate';
import { LABEL_USE, MAX_FEDERATED_CREDENTIALS_PER_IDENTITY, type WidRequest } from '../../domain/types';
import { ACTION } from '../ids';
import { clip, code, context, esc, fit, LIMIT, mention, section, type SlackMessage } from './text';

function field(label: string, value: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text: clip(`*${label}*\n${value}`, LIMIT.fieldText) };
}

/** The roles the identity holds, one per line, within a field. */
export function existingRolesText(r: WidRequest): string {
  const roles = r.plan.migration?.existingRoles ?? [];
  if (roles.length === 0) return '_none: the identity holds no role assignment wid-bot can read_';
  const lines = roles.map((x) => `• ${esc(clip(x.roleName, 120))} on ${code(clip(x.scope, 300))}`);
  // Whole lines only (never half an escaped entity), and the count of the rest.
  const budget = LIMIT.fieldText - 120;
  const shown: string[] = [];
  let used = 0;
  for (const line of lines) {
    if (used + line.length + 1 > budget) break;
    shown.push(line);
    used += line.length + 1;
  }
  const rest = lines.length - shown.length;
  return rest > 0 ? `${shown.join('\n')}\n_… and ${rest} more (shortened; \`wid plan … migrate\` lists all)_` : shown.join('\n');
}

/** The migrate request's ask line. */
export function migrationAsk(r: WidRequest): string {
  const m = r.plan.migration;
  const binding = m ? `${m.binding.namespace}/${m.binding.name}` : r.namespace;
  if (r.kind === 'revoke') {
    return `${mention(r.requester.id)} asks to *revoke* the workload identity of ${code(clip(`${r.namespace}/${r.serviceAccount}`, 400))} on *${esc(r.clusterName)}* (migrated from ${code(clip(binding, 300))}). Only the federated credential and the annotation wid-bot added go; the adopted identity and its roles stay.`;
  }
  return `${mention(r.requester.id)} asks to move the aad-pod-identity binding ${code(clip(binding, 300))} on *${esc(r.clusterName)}* to workload identity for ${code(clip(`${r.namespace}/${r.serviceAccount}`, 400))}, with the identity it already uses. *No new identity, no new role assignment:* the ServiceAccount gets the roles listed below.`;
}

/** The plan's fields for a migration. */
export function migrationPlanFields(r: WidRequest, approvals: string): Array<{ type: 'mrkdwn'; text: string }> {
  const p = r.plan;
  const m = p.migration;
  const fields = [
    field('Adopted identity', `${code(clip(p.identity.name, 200))} (not created by wid-bot)`),
    field('Resource group', `${code(p.identity.resourceGroup)} in subscription ${code(p.identity.subscriptionId)}`),
    field('Roles it already holds', existingRolesText(r)),
    field('From binding', m ? `${code(clip(`${m.binding.namespace}/${m.binding.name}`, 300))} → AzureIdentity ${code(clip(m.azureIdentity.name, 300))}, pods with ${code(`${LABEL_POD_IDENTITY_BINDING}=${clip(m.binding.selector, 200)}`)}` : '_unknown_'),
    field('Issuer', code(clip(p.federatedCredential.issuer, 900))),
    field('Subject', code(clip(p.federatedCredential.subject, 900))),
    field('ServiceAccount', `${code(clip(`${p.serviceAccount.namespace}/${p.serviceAccount.name}`, 900))} on ${esc(r.clusterName)}`),
    field('Approvals', approvals),
  ];
  if (m && r.kind !== 'revoke') fields.splice(6, 0, field('Federated credentials', `${m.credentialsAtPlan} of ${MAX_FEDERATED_CREDENTIALS_PER_IDENTITY} on the identity; this adds '${esc(clip(p.federatedCredential.name, 200))}'`));
  // Slack allows 10 fields per section.
  return fields.slice(0, 10);
}

/** Thread reply when a migration succeeded: which pods the binding covers, how to move them, and Finish. */
export function migrationResultReply(r: WidRequest): SlackMessage {
  const m = r.plan.migration;
  const pods = r.resources.migratedPods ?? [];
  const podsText = pods.length
    ? `The binding's selector (${code(`${LABEL_POD_IDENTITY_BINDING}=${clip(m?.binding.selector ?? '', 200)}`)}) covers ${pods.length} running pod${pods.length === 1 ? '' : 's'}: ${pods.slice(0, 30).map((p) => code(clip(p, 200))).join(', ')}${pods.length > 30 ? `, and ${pods.length - 30} more` : ''}.`
    : `No running pod carries the label ${code(`${LABEL_POD_IDENTITY_BINDING}=${clip(m?.binding.selector ?? '', 200)}`)} right now.`;
  const verified = r.resources.verified === true ? ':white_check_mark: Verified: a token for the ServiceAccount was exchanged for an Azure token as the adopted identity.' : ':grey_question: The token exchange was not verified.';
  const blocks: KnownBlock[] = [
    section(`:white_check_mark: *Ready side by side.* ${code(clip(`${r.namespace}/${r.serviceAccount}`, 400))} is bound to the identity the binding uses; the AzureIdentity and AzureIdentityBinding are still in place, so the pods keep working as they are.`),
    section(clip(podsText, 2900)),
    section(`Point their Deployment at the ServiceAccount and add the label ${code(`${LABEL_USE}: "true"`)} to the pod template:\n\`\`\`${clip(deploymentPatch(r.serviceAccount), 1200)}\`\`\`\nor: ${code(clip(deploymentPatchCommand(r.namespace, r.serviceAccount), 1200))}`),
    section(verified),
    context(`Once the pods rolled, press *Finish* (or \`/wid migrate --finish ${esc(r.namespace)} ${esc(m?.binding.name ?? '')}\`): it removes the binding and its AzureIdentity when no running pod still depends on them.`),
    { type: 'actions', elements: [{ type: 'button', action_id: ACTION.migrateFinish, text: { type: 'plain_text', text: 'Finish' }, value: r.id }] },
  ];
  return { text: clip(`${r.id}: ${r.namespace}/${r.serviceAccount} is bound to the migrated identity; move the pods, then Finish`, LIMIT.fallbackText), blocks };
}

/** What Finish did, or why not yet. */
export function finishMessage(ok: boolean, message: string): SlackMessage {
  return { text: clip(message, LIMIT.fallbackText), blocks: [section(`${ok ? ':broom:' : ':hourglass:'} ${fit(message, 2800)}`)] };
}
