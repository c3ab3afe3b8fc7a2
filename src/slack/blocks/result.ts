/**
 * What the requester and the thread see when provisioning ends: the pod snippet and the verification
 * result on success; the reason and what exists on failure.
 */
import { LABEL_USE, type WidRequest } from '../../domain/types';
import { resourcesText, STEP_LABEL } from './approval';
import { migrationResultReply } from './migrate';
import { clip, code, context, esc, fit, mention, section, type SlackMessage } from './text';

/** The pod spec lines that make a pod use the identity. Names are Kubernetes names: no escaping needed inside a code block, but backticks are impossible there anyway. */
export function podSnippet(r: WidRequest): string {
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  namespace: ${r.namespace}`,
    '  labels:',
    `    ${LABEL_USE}: "true"`,
    'spec:',
    `  serviceAccountName: ${r.serviceAccount}`,
  ].join('\n');
}

function verification(r: WidRequest): string {
  if (r.kind === 'revoke') return '';
  if (r.resources.verified === true) return ':white_check_mark: Verified: a token for the ServiceAccount was exchanged for an Azure token.';
  if (r.resources.verified === false) return ':warning: Not verified: the token exchange did not succeed yet (Entra can take a minute to see a new credential).';
  return ':grey_question: Verification was not run.';
}

/** Thread reply under the approval message. */
export function resultReply(r: WidRequest): SlackMessage {
  if (r.state === 'succeeded') {
    if (r.kind === 'migrate') return migrationResultReply(r);
    if (r.kind === 'revoke' && r.plan.federation) {
      return { text: `${r.id} revoked on ${r.clusterName}`, blocks: [section(`:white_check_mark: Revoked on *${r.clusterName}*: ${code(clip(`${r.namespace}/${r.serviceAccount}`, 600))} there no longer signs in as ${code(clip(r.plan.identity.name, 200))}; the identity still serves ${r.plan.federation.sourceCluster}.`)] };
    }
    if (r.kind === 'revoke') {
      return { text: `${r.id} revoked`, blocks: [section(`:white_check_mark: Revoked: ${code(clip(`${r.namespace}/${r.serviceAccount}`, 600))} no longer has what wid-bot granted.`)] };
    }
    return {
      text: clip(`${r.id} is ready: use serviceAccountName ${r.serviceAccount} with the label ${LABEL_USE}: "true"`, 3000),
      blocks: [
        section(`:white_check_mark: *Ready.* Run your pods with this ServiceAccount and label:\n\`\`\`${clip(podSnippet(r), 2800)}\`\`\``),
        section(verification(r)),
        ...(r.resources.clientId ? [context(`Client id ${code(r.resources.clientId)}`)] : []),
      ],
    };
  }
  const step = r.failure?.step ? ` at ${STEP_LABEL[r.failure.step]}` : '';
  const exists = resourcesText(r) || '_Nothing was created._';
  return {
    text: clip(`${r.id} failed${step}: ${r.failure?.reason ?? 'unknown reason'}`, 3000),
    blocks: [section(`:x: *Failed${step}:* ${fit(r.failure?.reason ?? 'unknown reason', 1500)}\n*What exists now*\n${exists}`), context('An approver can press Retry on the request.')],
  };
}

/** Direct message to the requester when provisioning ends. */
export function resultDm(r: WidRequest, link?: string): SlackMessage {
  const where = link ? ` (<${link}|request>)` : '';
  const reply = resultReply(r);
  const intro =
    r.state === 'succeeded'
      ? `Your request ${code(r.id)}${where} for ${code(clip(`${r.namespace}/${r.serviceAccount}`, 600))} is done.`
      : `Your request ${code(r.id)}${where} for ${code(clip(`${r.namespace}/${r.serviceAccount}`, 600))} failed.`;
  return { text: reply.text, blocks: [section(intro), ...(reply.blocks ?? [])] };
}

/** Direct message to the requester when an approver denies. */
export function deniedDm(r: WidRequest, approverId: string, reason: string): SlackMessage {
  return {
    text: clip(`Your request ${r.id} was denied: ${reason}`, 3000),
    blocks: [section(`:no_entry: Your request ${code(r.id)} (${esc(clip(r.roleName, 200))} for ${code(clip(`${r.namespace}/${r.serviceAccount}`, 600))}) was denied by ${mention(approverId)}:\n>${fit(reason, 2000).replace(/\n/g, '\n>')}`)],
  };
}

export function expiredDm(r: WidRequest): SlackMessage {
  return {
    text: `Your request ${r.id} expired without a decision.`,
    blocks: [section(`:hourglass: Your request ${code(r.id)} for ${code(clip(`${r.namespace}/${r.serviceAccount}`, 600))} expired without a decision. Ask again with \`/wid request\` if you still need it.`)],
  };
}

export function approvedDm(r: WidRequest): SlackMessage {
  return { text: `Your request ${r.id} was approved; provisioning starts now.`, blocks: [section(`:large_blue_circle: Your request ${code(r.id)} was approved (${r.approvals.map((a) => mention(a.actor.id)).join(', ')}); provisioning starts now.`)] };
}

/** Thread reply that pings approvers about a waiting request. */
export function reminderReply(r: WidRequest, approvers: { users: string[]; groups: string[] }): SlackMessage {
  const who = [...approvers.users.map(mention), ...approvers.groups.map((g) => `<!subteam^${g}>`)].slice(0, 40).join(' ');
  return { text: `Reminder: ${r.id} is waiting for approval`, blocks: [section(`:bell: ${who || 'Approvers'}: request ${code(r.id)} is still waiting for approval (${r.approvals.length} of ${r.plan.approvalsRequired}).`)] };
}
