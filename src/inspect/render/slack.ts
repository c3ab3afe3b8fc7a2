/**
 * Block Kit for the inspection verbs. The first message is a summary with counts; a result too long
 * for one message continues in further messages (for a thread), each saying "page i of n". Every
 * message stays within Slack's limits (50 blocks, 3000 characters per section text), and nothing is
 * cut without saying so.
 */
import { migrateButtonValue } from '../../slack/blocks/migrate-button';
import { fixButtonFor, requestButton, type FixButton } from '../../slack/blocks/fix-buttons';
import { ACTION } from '../../slack/ids';
import { FINDING_CODES, type AuditResult, type ClusterResult, type CredsResult, type Finding, type InspectResult, type LegacyResult, type ListResult, type SearchedScopes, type Severity } from '../types';

export interface SlackMessage {
  text: string;
  blocks: unknown[];
}

/** Section text budget, under Slack's 3000 with room for a continuation marker. */
export const SECTION_CHARS = 2900;
/** Sections per message: well under the 50-block limit and easy to read in a thread. */
export const SECTIONS_PER_PAGE = 10;
/** Items shown inline in the summary message when everything fits. */
const INLINE_SECTIONS = 3;
/** Thread pages at most; beyond that the summary says how much is left out and where to get it. */
export const MAX_PAGES = 25;

/** The searched scopes as a footer line; the unreadable ones named. */
function scopesFooter(scopes: SearchedScopes | undefined): string | undefined {
  if (!scopes) return undefined;
  const unreadable = scopes.unreadable.map((u) => `:warning: could not read ${code(u.scope)} (${esc(u.reason.length > 300 ? `${u.reason.slice(0, 297)}...` : u.reason)})`);
  const text = [`Searched ${scopes.searched.map(code).join(', ') || 'nothing'}.`, ...unreadable].join(' ');
  return text.length > 2500 ? `${text.slice(0, 2480)}… (more in the CLI's --json)` : text;
}

/** Slack mrkdwn control characters. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
const code = (s: string): string => `\`${esc(s).replace(/`/g, "'")}\``;

const section = (text: string): unknown => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): unknown => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
const header = (text: string): unknown => ({ type: 'header', text: { type: 'plain_text', text: text.length > 150 ? `${text.slice(0, 147)}...` : text, emoji: true } });

/** Split one long item into pieces that fit a section, each continued piece saying so. */
function splitItem(item: string): string[] {
  if (item.length <= SECTION_CHARS) return [item];
  const pieces: string[] = [];
  const size = SECTION_CHARS - 20;
  for (let i = 0; i < item.length; i += size) pieces.push(`${i > 0 ? '(continued) ' : ''}${item.slice(i, i + size)}`);
  return pieces;
}

/** Items packed into section texts of at most SECTION_CHARS. */
export function packSections(items: readonly string[]): string[] {
  const sections: string[] = [];
  let current = '';
  for (const item of items.flatMap(splitItem)) {
    if (current && current.length + 2 + item.length > SECTION_CHARS) {
      sections.push(current);
      current = '';
    }
    current = current ? `${current}\n\n${item}` : item;
  }
  if (current) sections.push(current);
  return sections;
}

interface Rendering {
  title: string;
  /** Counts and the one-line answer. */
  summary: string;
  /** One mrkdwn entry per row or finding. */
  items: string[];
  /** Said after the items, e.g. how to read the list. */
  footer?: string;
  /** A button beside an item (same index); items with buttons are never packed together. */
  buttons?: Array<FixButton | undefined>;
}

/** One section per item with its button, packed items otherwise. */
function sectionsOf(r: Rendering): unknown[] {
  const buttons = r.buttons;
  if (!buttons?.some(Boolean)) return packSections(r.items).map(section);
  return r.items.flatMap((item, i) => {
    const [first, ...rest] = splitItem(item);
    const b = buttons[i];
    const head = b
      ? { type: 'section', text: { type: 'mrkdwn', text: first ?? '' }, accessory: { type: 'button', action_id: b.actionId, text: { type: 'plain_text', text: b.text }, value: b.value.slice(0, 2000), ...(b.confirm ? { confirm: confirmObject(b.confirm) } : {}) } }
      : section(first ?? '');
    return [head, ...rest.map(section)];
  });
}

/** Slack's confirmation dialog object for a button. */
function confirmObject(c: NonNullable<FixButton['confirm']>): Record<string, unknown> {
  return { title: { type: 'plain_text', text: c.title }, text: { type: 'plain_text', text: c.text }, confirm: { type: 'plain_text', text: c.confirm }, deny: { type: 'plain_text', text: c.deny }, ...(c.style ? { style: c.style } : {}) };
}

function paged(r: Rendering, user: string | undefined): SlackMessage[] {
  const sections = sectionsOf(r);
  const by = user ? ` · asked by <@${esc(user)}>` : '';
  if (sections.length <= INLINE_SECTIONS) {
    const blocks = [header(r.title), section(r.summary), ...sections];
    if (r.footer) blocks.push(context(r.footer + by));
    else if (by) blocks.push(context(by.slice(3)));
    return [{ text: `${r.title}: ${r.summary}`.slice(0, 3000), blocks }];
  }
  const pageCount = Math.ceil(sections.length / SECTIONS_PER_PAGE);
  const shownPages = Math.min(pageCount, MAX_PAGES);
  const left = sections.slice(shownPages * SECTIONS_PER_PAGE);
  const leftItems = left.length > 0 ? r.items.length - Math.round((r.items.length * (shownPages * SECTIONS_PER_PAGE)) / sections.length) : 0;
  const more =
    left.length > 0
      ? ` The thread shows ${shownPages} of ${pageCount} pages; about ${leftItems} more entries are not shown here — run the same command with the CLI (\`wid ${r.title.split(' ')[1] ?? ''} --json\`) for all of them.`
      : '';
  const summary: SlackMessage = {
    text: `${r.title}: ${r.summary}`.slice(0, 3000),
    blocks: [header(r.title), section(`${r.summary}\n\n${r.items.length} entries follow in the thread in ${shownPages} ${shownPages === 1 ? 'message' : 'messages'} (page 1 to ${shownPages} of ${pageCount}).${more}`), ...(r.footer || by ? [context(`${r.footer ?? ''}${r.footer ? by : by.slice(3)}`)] : [])],
  };
  const pages: SlackMessage[] = [];
  for (let p = 0; p < shownPages; p++) {
    const label = `${r.title} — page ${p + 1} of ${pageCount}`;
    pages.push({ text: label, blocks: [context(esc(label)), ...sections.slice(p * SECTIONS_PER_PAGE, (p + 1) * SECTIONS_PER_PAGE)] });
  }
  return [summary, ...pages];
}

const SEVERITY_ICON: Record<Severity, string> = { error: ':red_circle:', warning: ':large_orange_circle:', info: ':information_source:' };

/** One finding as Slack text; `[code] subject` on the first line is what tools read back. */
export function findingText(f: Finding): string {
  return `${SEVERITY_ICON[f.severity]} *[${f.code}]* ${code(f.subject)}\n${esc(f.message)}\n*Fix:* ${code(f.fix)}`;
}

function clusterRendering(r: ClusterResult): Rendering {
  const lines = [
    `*OIDC issuer:* ${r.oidcIssuerEnabled ? `:white_check_mark: enabled ${code(r.issuerUrl)}` : ':x: disabled'}`,
    `*Workload identity:* ${r.workloadIdentityEnabled ? ':white_check_mark: enabled' : ':x: disabled'}`,
    `*Cluster identity:* ${esc(r.identityType ?? 'unknown')}`,
    `*Pod identity (legacy):* ${r.podIdentityEnabled ? ':warning: enabled' : 'off'}`,
  ];
  const items = [lines.join('\n')];
  if (r.problems.length > 0) items.push(`${r.problems.map((p) => `:x: ${esc(p)}`).join('\n')}\n*Fix:* ${code(r.fixCommand ?? '')}`);
  for (const n of r.notes) items.push(`:information_source: ${esc(n)}`);
  return {
    title: `wid cluster ${r.cluster.name}`,
    summary: r.problems.length === 0 ? `:white_check_mark: AKS cluster *${esc(r.cluster.aksName)}* is ready for workload identity.` : `:x: AKS cluster *${esc(r.cluster.aksName)}* is not ready: ${r.problems.length} ${r.problems.length === 1 ? 'problem' : 'problems'}.`,
    items,
  };
}

function listRendering(r: ListResult): Rendering {
  const unknown = r.serviceAccounts.filter((s) => s.clientId && !s.identity).length;
  const where = r.namespace !== undefined ? `namespace *${esc(r.namespace)}*` : 'all namespaces';
  return {
    title: `wid list ${r.cluster.name}${r.namespace !== undefined ? ` ${r.namespace}` : ''}`,
    summary: `*${r.serviceAccounts.length}* workload-identity ServiceAccounts in ${where}; *${unknown}* with a client id that matches no managed identity (of ${r.identitiesSearched} searched).`,
    items: r.serviceAccounts.map(
      (s) =>
        `${code(`${s.namespace}/${s.name}`)} client id ${s.clientId ? code(s.clientId) : '_none_'}${s.useLabel ? '' : ' · _no use label_'} → ${
          s.identity ? `*${esc(s.identity.name)}* (${esc(s.identity.resourceGroup)})${s.identity.trustsClusters ? ` · trusts ${s.identity.trustsClusters.length ? s.identity.trustsClusters.map(esc).join(', ') : '_no policy cluster_'}` : ''}` : s.clientId ? ':warning: no managed identity' : '_no identity_'
        }`,
    ),
  };
}

function credsRendering(r: CredsResult): Rendering {
  return {
    title: `wid creds ${r.cluster.name}`,
    summary: r.oidcIssuerEnabled
      ? `*${r.credentials.length}* federated credentials trust issuer ${code(r.issuerUrl)} (of ${r.credentialsSearched} on ${r.identitiesSearched} identities).`
      : `:x: The OIDC issuer of cluster *${esc(r.cluster.name)}* is off, so no federated credential can trust it. Try \`/wid cluster\`.`,
    items: r.credentials.map((c) => `*${esc(c.identity)}* (${esc(c.identityResourceGroup)}) · ${code(c.credential)} → ${code(c.subject)}${c.identityTrustsClusters ? ` · identity trusts ${c.identityTrustsClusters.map(esc).join(', ')}` : ''}`),
  };
}

function legacyRendering(r: LegacyResult): Rendering {
  return {
    title: `wid legacy ${r.cluster.name}`,
    summary:
      r.items.length === 0
        ? ':white_check_mark: No aad-pod-identity leftovers: no AzureIdentity or AzureIdentityBinding, and the pod-identity add-on is off.'
        : `*${r.items.length}* aad-pod-identity leftovers${r.podIdentityProfileEnabled ? ' (the AKS pod-identity add-on is on)' : ''}. *Migrate* moves a binding to workload identity with the identity it already uses; the other lines make a new identity (replace \`<role>\` with the role it had).`,
    items: r.items.map(
      (i) =>
        `*${i.kind}* ${code(`${i.namespace ? `${i.namespace}/` : ''}${i.name}`)}${i.clientId ? ` client id ${code(i.clientId)}` : ''}\n${code(i.migrate ?? i.request)}${i.note ? `\n_${esc(i.note)}_` : ''}`,
    ),
    buttons: r.items.map((i) =>
      i.kind === 'AzureIdentityBinding' && i.namespace ? { text: 'Migrate', actionId: ACTION.migrate, value: migrateButtonValue({ namespace: i.namespace, binding: i.name, cluster: r.cluster.name }) } : legacyRequestButton(i, r.cluster.name),
    ),
  };
}

function auditRendering(r: AuditResult): Rendering {
  const icon = r.counts.error > 0 ? ':red_circle:' : r.counts.warning > 0 ? ':large_orange_circle:' : ':white_check_mark:';
  return {
    title: `wid audit ${r.cluster.name}`,
    summary: `${icon} *${r.counts.error}* errors, *${r.counts.warning}* warnings, *${r.counts.info}* info. Scanned ${r.scanned.identities} identities, ${r.scanned.credentials} credentials, ${r.scanned.serviceAccounts} ServiceAccounts and ${r.scanned.pods} pods.`,
    items: r.findings.map(findingText),
    buttons: r.findings.map((f) => fixButtonFor(f, r.cluster.name)),
  };
}

/** An AzureIdentity (not a binding) becomes a new workload identity: Request, prefilled with the line's namespace and ServiceAccount. */
function legacyRequestButton(i: LegacyResult['items'][number], cluster: string): FixButton | undefined {
  const m = /^\/wid request (\S+) (\S+)/.exec(i.request);
  if (!i.namespace || !m || m[1] !== i.namespace || (m[2] ?? '').startsWith('<')) return undefined;
  return requestButton(cluster, i.namespace, m[2]);
}

function withScopes(r: Rendering, scopes: SearchedScopes | undefined): Rendering {
  const line = scopesFooter(scopes);
  return line ? { ...r, footer: r.footer ? `${r.footer} ${line}` : line } : r;
}

/** The Slack messages for a result: the summary first, then the pages for its thread. */
export function renderSlack(result: InspectResult, user?: string): SlackMessage[] {
  switch (result.verb) {
    case 'cluster':
      return paged(clusterRendering(result), user);
    case 'list':
      return paged(withScopes(listRendering(result), result.scopes), user);
    case 'creds':
      return paged(withScopes(credsRendering(result), result.scopes), user);
    case 'legacy':
      return paged(legacyRendering(result), user);
    case 'audit':
      return withRefederateButton(result, paged(withScopes(auditRendering(result), result.scopes), user));
  }
}

/** A Refederate button under the audit's summary when a recreated cluster's old issuer is still trusted there. */
function withRefederateButton(r: AuditResult, messages: SlackMessage[]): SlackMessage[] {
  const clusters = [...new Set(r.findings.filter((f) => f.code === FINDING_CODES.credentialIssuerChanged).map((f) => /^\/wid refederate (\S+)$/.exec(f.fix)?.[1]).filter((c): c is string => !!c))];
  const [first, ...rest] = messages;
  if (!first || clusters.length === 0) return messages;
  // An audit is of one cluster: only its own findings carry `/wid refederate <it>`, so there is one button.
  const buttons = clusters.slice(0, 1).map((c) => ({ type: 'button', action_id: ACTION.refederateStart, text: { type: 'plain_text', text: `Refederate ${c}`.slice(0, 75) }, value: c }));
  return [{ ...first, blocks: [...first.blocks, { type: 'actions', elements: buttons }] }, ...rest];
}

/** A failure as one Slack message: what went wrong and, when the error says, what to do. */
export function renderSlackError(verb: string, message: string): SlackMessage[] {
  const text = `:x: \`/wid ${esc(verb)}\` could not finish: ${esc(message)}`;
  return [{ text: text.slice(0, 3000), blocks: packSections([text]).map(section) }];
}
