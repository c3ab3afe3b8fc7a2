/**
 * The approval message: who asks, why, the exact plan, the approvals so far, live provisioning steps
 * and, at the end, the resource ids or the failure with what exists. Approve/Deny while pending;
 * Retry when failed. The web side and the worker's progress sink both render it from the request.
 */
import type { KnownBlock } from '@slack/types';
import type { StepName, StepOutcome, StepRecord, WidRequest } from '../../domain/types';
import { ACTION } from '../ids';
import { migrationAsk, migrationPlanFields } from './migrate';
import { describeRevokePart } from '../../domain/revoke-all';
import { clusterProgressLine } from '../../domain/cluster-progress';
import { clip, code, context, duration, esc, fit, header, LIMIT, mention, section, type SlackMessage } from './text';

export const STEP_LABEL: Record<StepName, string> = {
  identity: 'Managed identity',
  roleAssignment: 'Role assignment',
  federatedCredential: 'Federated credential',
  serviceAccount: 'ServiceAccount annotation',
  verify: 'Token exchange check',
};

const STEP_ICON: Record<StepOutcome, string> = { running: ':hourglass_flowing_sand:', done: ':white_check_mark:', skipped: ':heavy_minus_sign:', failed: ':x:' };

const STATE_LINE: Record<WidRequest['state'], string> = {
  pending: ':large_yellow_circle: Waiting for approval',
  approved: ':large_blue_circle: Approved — queued for provisioning',
  provisioning: ':gear: Provisioning',
  succeeded: ':white_check_mark: Done',
  failed: ':x: Failed',
  denied: ':no_entry: Denied',
  expired: ':hourglass: Expired without a decision',
  cancelled: ':heavy_multiplication_x: Withdrawn or cancelled',
};

const STEP_ORDER: readonly StepName[] = ['identity', 'roleAssignment', 'federatedCredential', 'serviceAccount', 'verify'];

/** The reason as shown: up to about 1,500 characters, cut visibly. */
export const REASON_MAX = 1500;

function field(label: string, value: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text: clip(`*${label}*\n${value}`, LIMIT.fieldText) };
}

export function approvalsLine(r: WidRequest): string {
  const needed = r.plan.approvalsRequired;
  const who = r.approvals.map((a) => mention(a.actor.id)).join(', ');
  return `${r.approvals.length} of ${needed} approval${needed > 1 ? 's' : ''}${who ? ` (${who})` : ''}`;
}

/** Fallback text: also what notifications show. */
export function approvalText(r: WidRequest): string {
  const what = r.kind === 'revoke' ? 'revoke access of' : r.kind === 'migrate' ? 'migrate to workload identity' : r.kind === 'federate' ? 'let its identity trust' : `${clip(r.roleName, 120)} for`;
  return clip(`${r.id}: ${r.requester.name ?? r.requester.id} asks to ${what} ${r.namespace}/${clip(r.serviceAccount, 100)} on ${r.clusterName} — ${STATE_LINE[r.state].replace(/^:[a-z_]+: /, '')}`, LIMIT.fallbackText);
}

/** The plan's fields, each within Slack's 2,000-character field limit. */
export function planFields(r: WidRequest): Array<{ type: 'mrkdwn'; text: string }> {
  if (r.plan.migration) return migrationPlanFields(r, approvalsLine(r));
  const p = r.plan;
  const fields = [
    field('Identity', `${code(clip(p.identity.name, 200))}`),
    field('Resource group', `${code(p.identity.resourceGroup)} (${esc(p.identity.location)})`),
    field('Role', r.kind === 'revoke' ? `remove ${esc(clip(p.roleAssignment.roleName, 200))}` : esc(clip(p.roleAssignment.roleName, 200))),
    field('Scope', code(clip(p.roleAssignment.scope, 900))),
    field('Issuer', code(clip(p.federatedCredential.issuer, 900))),
    field('Subject', code(clip(p.federatedCredential.subject, 900))),
    field('ServiceAccount', `${code(clip(`${p.serviceAccount.namespace}/${p.serviceAccount.name}`, 900))} on ${esc(r.clusterName)}`),
    field('Approvals', approvalsLine(r)),
  ];
  if (p.federation) {
    const trusted = p.federation.trustedClusters.length ? p.federation.trustedClusters.map(esc).join(', ') : esc(p.federation.sourceCluster);
    fields[2] = field('Role', `${r.kind === 'revoke' ? 'kept: ' : 'already holds '}${esc(clip(p.roleAssignment.roleName, 200))} (no new role assignment)`);
    fields.push(field('Trusts now', `${trusted} · ${p.federation.credentialCount} of 20 credentials${r.kind === 'revoke' ? '' : ` → ${p.federation.credentialCount + 1}`}`));
  }
  if (p.revokeAll) fields.push(field('On every cluster', p.revokeAll.parts.map((x) => `${esc(x.cluster.name)}: ${describeRevokePart(x)}`).join('\n')));
  if (p.alsoClusters?.length) {
    fields.push(field('Also on', p.alsoClusters.map((c) => `${esc(c.cluster.name)}: ${code(clip(c.federatedCredential.issuer, 300))}`).join('\n')));
  }
  if (r.durationSeconds !== undefined) fields.push(field('Duration', duration(r.durationSeconds)));
  return fields;
}

function stepsText(steps: readonly StepRecord[]): string {
  const byStep = new Map(steps.map((s) => [s.step, s]));
  const lines = STEP_ORDER.filter((s) => byStep.has(s)).map((s) => {
    const rec = byStep.get(s) as StepRecord;
    const detail = rec.detail ? ` — ${fit(rec.detail, 300, '')}` : '';
    return `${STEP_ICON[rec.outcome]} ${STEP_LABEL[s]}${detail}`;
  });
  return lines.join('\n');
}

/** Every resource id the request knows, one per line; empty when none. */
export function resourcesText(r: WidRequest): string {
  const res = r.resources;
  const lines: string[] = [];
  if (res.identityId) lines.push(`• Identity: ${code(clip(res.identityId, 400))}`);
  if (res.clientId) lines.push(`• Client id: ${code(res.clientId)}`);
  if (res.principalId) lines.push(`• Principal id: ${code(res.principalId)}`);
  if (res.roleAssignmentId) lines.push(`• Role assignment: ${code(clip(res.roleAssignmentId, 600))}`);
  if (res.federatedCredentialId) lines.push(`• Federated credential: ${code(clip(res.federatedCredentialId, 600))}`);
  if (res.serviceAccount) lines.push(`• ServiceAccount: ${code(clip(res.serviceAccount, 400))}`);
  if (res.verified !== undefined) lines.push(`• Token exchange: ${res.verified ? 'verified' : 'not verified'}`);
  for (const [name, c] of Object.entries(res.clusters ?? {})) {
    const parts = [c.federatedCredentialId ? `credential ${code(clip(c.federatedCredentialId, 400))}` : '', c.serviceAccount ? `ServiceAccount ${code(clip(c.serviceAccount, 200))}` : '', c.verified !== undefined ? (c.verified ? 'verified' : 'not verified') : '', c.revoked ? 'revoked' : ''].filter(Boolean);
    if (parts.length) lines.push(`• On ${esc(name)}: ${parts.join(', ')}`);
  }
  return lines.join('\n');
}

/** The planned resources that do not exist (yet), named as planned: the other half of "what exists". */
export function missingText(r: WidRequest): string {
  const res = r.resources;
  const p = r.plan;
  const lines: string[] = [];
  if (!res.identityId) lines.push(`missing: identity ${esc(clip(p.identity.name, 200))} in resource group ${esc(clip(p.identity.resourceGroup, 100))}`);
  if (!res.roleAssignmentId) lines.push(`missing: role assignment '${esc(clip(p.roleAssignment.roleName, 200))}' on ${esc(clip(p.roleAssignment.scope, 600))}`);
  if (!res.federatedCredentialId) lines.push(`missing: federated credential '${esc(clip(p.federatedCredential.name, 200))}'`);
  if (!res.serviceAccount) lines.push(`missing: ServiceAccount ${esc(clip(`${p.serviceAccount.namespace}/${p.serviceAccount.name}`, 400))} (not bound to the identity)`);
  return lines.join('\n');
}

export interface ApprovalMessageOptions {
  /** Who decided and why, for denied (and expired) requests. */
  decision?: { actorId: string; reason?: string };
}

export function approvalMessage(r: WidRequest, opts: ApprovalMessageOptions = {}): SlackMessage {
  const blocks: KnownBlock[] = [];
  blocks.push(header(r.kind === 'revoke' ? `Revoke workload identity · ${r.id}` : r.kind === 'migrate' ? `Migrate from pod identity · ${r.id}` : r.kind === 'federate' ? `Federate another cluster · ${r.id}` : `Workload identity request · ${r.id}`));
  const ask = r.plan.migration
    ? migrationAsk(r)
    : r.kind === 'federate' && r.plan.federation
      ? `${mention(r.requester.id)} asks that the identity ${code(clip(r.plan.identity.name, 200))}, which serves ${code(clip(`${r.namespace}/${r.serviceAccount}`, 400))} on *${esc(r.plan.federation.sourceCluster)}*, also trust it on *${esc(r.clusterName)}*: one more federated credential and the ServiceAccount there, no new role.`
      : r.plan.revokeAll
        ? `${mention(r.requester.id)} asks to *revoke* what wid-bot granted to ${code(clip(`${r.namespace}/${r.serviceAccount}`, 400))} on *every cluster* (${r.plan.revokeAll.parts.map((p) => esc(p.cluster.name)).join(', ')}), in one approval.`
      : r.kind === 'revoke' && r.plan.federation
        ? `${mention(r.requester.id)} asks to *revoke* ${code(clip(`${r.namespace}/${r.serviceAccount}`, 400))} on *${esc(r.clusterName)}* only: its credential and annotation there go; the identity keeps serving *${esc(r.plan.federation.sourceCluster)}*.`
        : r.kind === 'revoke'
      ? `${mention(r.requester.id)} asks to *revoke* what wid-bot granted to ${code(clip(`${r.namespace}/${r.serviceAccount}`, 400))} on *${esc(r.clusterName)}*.`
      : `${mention(r.requester.id)} asks for *${esc(clip(r.roleName, 200))}* for ${code(clip(`${r.namespace}/${r.serviceAccount}`, 400))} on *${esc(r.clusterName)}*.`;
  const reason = r.reason ? `\n>${fit(r.reason, REASON_MAX).replace(/\n/g, '\n>')}` : '\n_No reason given._';
  blocks.push(section(`${ask}${reason}`));
  blocks.push({ type: 'section', fields: planFields(r) });
  blocks.push(context(`${STATE_LINE[r.state]} · requested ${r.createdAt.slice(0, 16).replace('T', ' ')} UTC${r.state === 'pending' ? ` · expires ${r.expiresAt.slice(0, 16).replace('T', ' ')} UTC` : ''}`));

  if (opts.decision && (r.state === 'denied' || r.state === 'expired' || r.state === 'cancelled')) {
    const by = opts.decision.actorId === 'system' ? 'wid-bot' : mention(opts.decision.actorId);
    const withdrawn = r.state === 'cancelled' && opts.decision.actorId === r.requester.id;
    const verb = r.state === 'denied' ? 'Denied' : r.state === 'expired' ? 'Expired' : withdrawn ? 'Withdrawn' : 'Cancelled';
    blocks.push(section(`*${verb}* by ${by}${opts.decision.reason && !withdrawn ? `: ${fit(opts.decision.reason, 1500)}` : ''}`));
  }
  if (r.breakGlass) blocks.push(section(`:rotating_light: *Break-glass:* ${mention(r.requester.id)} approved their own request (at most ${duration(r.breakGlass.maxDurationSeconds)}): ${fit(r.breakGlass.reason, 1200)}`));
  const perCluster = r.state === 'pending' ? undefined : clusterProgressLine(r);
  if (r.steps.length > 0 || perCluster) blocks.push(section(`*Progress*\n${[stepsText(r.steps), perCluster ? `*Clusters:* ${esc(perCluster)}` : ''].filter(Boolean).join('\n')}`));
  const resources = resourcesText(r);
  if (r.state === 'succeeded' && resources) blocks.push(section(`*Resources*\n${resources}`));
  if (r.state === 'failed') {
    const why = r.failure ? fit(r.failure.reason, 1200) : 'unknown reason';
    const step = r.failure?.step ? ` (step: ${STEP_LABEL[r.failure.step]})` : '';
    blocks.push(section(`*Failed${step}:* ${why}`));
    const missing = r.kind === 'grant' ? missingText(r) : '';
    blocks.push(section(`*What exists now*\n${resources || '_Nothing was created._'}`));
    if (missing) blocks.push(section(`*Not created*\n${missing}`));
  }

  if (r.state === 'pending') {
    blocks.push({
      type: 'actions',
      elements: [
        { type: 'button', action_id: ACTION.approve, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: r.id },
        { type: 'button', action_id: ACTION.deny, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: r.id },
      ],
    });
  } else if (r.state === 'failed') {
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', action_id: ACTION.retry, text: { type: 'plain_text', text: 'Retry' }, value: r.id }],
    });
  }
  return { text: approvalText(r), blocks };
}
