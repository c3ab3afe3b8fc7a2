/**
 * The App Home tab as pure Block Kit: what a person asked for, holds and until when, what waits on them and,
 * for operators, how wid-bot and its clusters are doing. Built from plain data (src/slack/home/service.ts
 * gathers it), always within Slack's limits: at most 100 blocks, long lists paged with Previous / Next.
 */
import { clusterProgressLine, clustersOf } from '../../domain/cluster-progress';
import type { Button, KnownBlock } from '@slack/types';
import type { Grant } from '../../domain/grants';
import type { WidRequest } from '../../domain/types';
import { approvalsLine, planFields, STEP_LABEL } from '../blocks/approval';
import { endLine, grantButtonValue } from '../blocks/grants';
import { clip, code, context, esc, fit, header, mention, section, when } from '../blocks/text';
import { ACTION } from '../ids';

/** Slack's limit for a Home tab view. */
export const HOME_MAX_BLOCKS = 100;

/** The paged lists and how many items each page shows (each item is 2–3 blocks; the sum stays under 100). */
export const PAGE_SIZE = { open: 5, grants: 8, recent: 4, waiting: 5 } as const;
export type HomeList = keyof typeof PAGE_SIZE;
export type HomePages = Partial<Record<HomeList, number>>;

export interface ClusterHealth {
  name: string;
  ready: boolean;
  detail: string;
}

export interface OperatorView {
  clusters: ClusterHealth[];
  /** The last `audit` run: when, and how many findings of each severity. */
  lastAudit?: { at: string; counts: Record<string, number> };
  queue: { waiting: number; active: number; failed: number; delayed?: number };
  endingToday: Grant[];
  /** Show Run audit (wid-bot can run audits here). */
  canRunAudit?: boolean;
  auditRunning?: boolean;
}

export interface HomeData {
  userId: string;
  now: Date;
  /** My requests still open (pending, approved, provisioning). */
  open: WidRequest[];
  /** My active grants (live or ending). */
  grants: Grant[];
  /** My finished requests, newest first (failures carry Retry for approvers). */
  recent: WidRequest[];
  /** Present for approvers: requests they may approve now. */
  waiting?: WidRequest[];
  /** Present for approvers: what they approved lately. */
  approvedLately?: WidRequest[];
  operator?: OperatorView;
  /** My failed requests I may retry (approvers of their namespace); absent: Retry is shown on none. */
  retryable?: string[];
  /** My pending requests the policy lets me approve myself (break-glass). */
  breakGlass?: string[];
  /** A one-line answer to the person's last click in the Home tab. */
  notice?: string;
  pages?: HomePages;
}

export interface HomeView {
  type: 'home';
  callback_id: string;
  private_metadata: string;
  blocks: KnownBlock[];
}

export const HOME_CALLBACK = 'wid_home';

const STATE: Record<WidRequest['state'], string> = {
  pending: ':large_yellow_circle: waiting for approval',
  approved: ':large_blue_circle: approved, queued',
  provisioning: ':gear: provisioning',
  succeeded: ':white_check_mark: done',
  failed: ':x: failed',
  denied: ':no_entry: denied',
  expired: ':hourglass: expired',
  cancelled: ':heavy_multiplication_x: withdrawn',
};

function what(r: WidRequest): string {
  const sa = code(clip(`${r.namespace}/${r.serviceAccount}`, 300));
  const on = esc(clip(clustersOf(r).join(', '), 300));
  return r.kind === 'revoke' ? `revoke ${sa} on ${on}` : `*${esc(clip(r.roleName, 150))}* for ${sa} on ${on}`;
}

/** A multi-cluster request's line per cluster, e.g. "blue ✓ · green … federated credential"; '' otherwise. */
function clustersLine(r: WidRequest): string {
  const line = r.state === 'pending' ? undefined : clusterProgressLine(r);
  return line ? `\n${esc(clip(line, 600))}` : '';
}

function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger'): Button {
  return { type: 'button', text: { type: 'plain_text', text: clip(text, 75) }, action_id: actionId, value: clip(value, 2000), ...(style ? { style } : {}) };
}

function actions(blockId: string, elements: Button[]): KnownBlock {
  return { type: 'actions', block_id: clip(blockId, 255), elements };
}

/** The slice of `items` on `page` (clamped), and the Previous / Next row when there is more than one page. */
export function paged<T>(list: HomeList, items: readonly T[], page = 0): { items: T[]; page: number; pages: number; nav?: KnownBlock } {
  const size = PAGE_SIZE[list];
  const pages = Math.max(1, Math.ceil(items.length / size));
  const p = Math.min(Math.max(0, Math.floor(page)), pages - 1);
  const slice = items.slice(p * size, (p + 1) * size);
  if (pages === 1) return { items: slice, page: p, pages };
  const elements: Button[] = [];
  if (p > 0) elements.push(button('Previous', ACTION.homePageBack, `${list}:${p - 1}`));
  if (p < pages - 1) elements.push(button('Next', ACTION.homePage, `${list}:${p + 1}`));
  return { items: slice, page: p, pages, nav: actions(`nav:${list}`, elements) };
}

function pageNote(list: HomeList, shown: { page: number; pages: number }, total: number): KnownBlock[] {
  return shown.pages > 1 ? [context(`Page ${shown.page + 1} of ${shown.pages} · ${total} in all`)] : [];
}

function requesterBlocks(d: HomeData): KnownBlock[] {
  const out: KnownBlock[] = [header('My requests')];
  if (d.open.length === 0) out.push(context('Nothing open. Ask with `/wid request`.'));
  const open = paged('open', d.open, d.pages?.open);
  for (const r of open.items) {
    const waitingOn = r.state === 'pending' ? ` · ${approvalsLine(r)}` : '';
    out.push(section(`${code(r.id)} ${what(r)}\n${STATE[r.state]}${waitingOn}${clustersLine(r)}`));
    if (r.state === 'pending') {
      const glass = d.breakGlass?.includes(r.id) ? [button('Break glass', ACTION.breakGlass, r.id)] : [];
      out.push(actions(`open:${r.id}`, [button('Withdraw', ACTION.withdraw, r.id, 'danger'), ...glass]));
    }
  }
  out.push(...pageNote('open', open, d.open.length));
  if (open.nav) out.push(open.nav);

  out.push(header('My access'));
  if (d.grants.length === 0) out.push(context('No active grants.'));
  const grants = paged('grants', d.grants, d.pages?.grants);
  for (const g of grants.items) {
    const state = g.state === 'active' ? endLine(g, d.now) : g.state === 'endFailed' ? ':warning: ending failed; wid-bot keeps trying' : 'ending now';
    out.push(section(`*${esc(clip(g.roleName, 150))}* for ${code(clip(`${g.namespace}/${g.serviceAccount}`, 300))} on ${esc(clip([g.clusterName, ...(g.alsoClusters ?? [])].join(', '), 300))}\n${state}`));
    if (g.state === 'active') {
      out.push(actions(`grant:${g.id}`, [...(g.endsAt ? [button('Extend', ACTION.grantExtend, grantButtonValue(g))] : []), button("I'm done", ACTION.grantDone, g.id, 'danger')]));
    }
  }
  out.push(...pageNote('grants', grants, d.grants.length));
  if (grants.nav) out.push(grants.nav);

  if (d.recent.length > 0) {
    out.push(header('Recent results'));
    const recent = paged('recent', d.recent, d.pages?.recent);
    for (const r of recent.items) {
      const why = r.state === 'failed' && r.failure ? `\n${r.failure.step ? `at ${STEP_LABEL[r.failure.step]}: ` : ''}${fit(r.failure.reason, 600)}` : '';
      out.push(section(`${code(r.id)} ${what(r)} · ${STATE[r.state]} ${when(r.updatedAt)}${clustersLine(r)}${why}`));
      if (r.state === 'failed' && d.retryable?.includes(r.id)) out.push(actions(`recent:${r.id}`, [button('Retry', ACTION.retry, r.id)]));
      else if (r.state === 'failed') out.push(context('An approver of the namespace can retry it from the approval message.'));
    }
    out.push(...pageNote('recent', recent, d.recent.length));
    if (recent.nav) out.push(recent.nav);
  }
  return out;
}

function approverBlocks(d: HomeData): KnownBlock[] {
  const waiting = d.waiting ?? [];
  const out: KnownBlock[] = [{ type: 'divider' }, header(`Waiting on me (${waiting.length})`)];
  if (waiting.length === 0) out.push(context('Nothing waits on you.'));
  const page = paged('waiting', waiting, d.pages?.waiting);
  for (const r of page.items) {
    const reason = r.reason ? `\n>${fit(r.reason, 400).replace(/\n/g, '\n>')}` : '';
    out.push(section(`${code(r.id)} ${mention(r.requester.id)} asks for ${what(r)}${reason}`));
    out.push({ type: 'section', fields: planFields(r).slice(0, 10) });
    out.push(
      actions(`waiting:${r.id}`, [button('Approve', ACTION.approve, r.id, 'primary'), button('Deny', ACTION.deny, r.id, 'danger')]),
    );
  }
  out.push(...pageNote('waiting', page, waiting.length));
  if (page.nav) out.push(page.nav);
  const lately = d.approvedLately ?? [];
  if (lately.length > 0) {
    const lines = lately.slice(0, 10).map((r) => `• ${code(r.id)} ${what(r)} · ${STATE[r.state]}`);
    out.push(section(`*I approved lately*\n${lines.join('\n')}`));
  }
  return out;
}

function operatorBlocks(o: OperatorView, now: Date): KnownBlock[] {
  const out: KnownBlock[] = [{ type: 'divider' }, header('Operations')];
  if (o.clusters.length > 0) {
    out.push({
      type: 'section',
      fields: o.clusters.slice(0, 10).map((c) => ({ type: 'mrkdwn' as const, text: clip(`*${esc(c.name)}*\n${c.ready ? ':white_check_mark: ready' : ':x: not ready'} · ${esc(c.detail)}`, 2000) })),
    });
    if (o.clusters.length > 10) out.push(context(`…and ${o.clusters.length - 10} more clusters; \`wid cluster\` lists them all.`));
  }
  const audit = o.lastAudit
    ? `Last audit ${when(o.lastAudit.at)}: ${Object.entries(o.lastAudit.counts).map(([k, v]) => `${v} ${esc(k)}`).join(', ') || 'no findings'}`
    : 'No audit run yet.';
  out.push(section(`*Audit*\n${audit}`));
  if (o.canRunAudit) out.push(actions('audit', [button(o.auditRunning ? 'Audit running…' : 'Run audit', ACTION.homeRunAudit, 'audit')]));
  const q = o.queue;
  out.push(section(`*Queue* · ${q.waiting} waiting · ${q.active} active · ${q.failed} failed${q.delayed !== undefined ? ` · ${q.delayed} delayed` : ''}`));
  const ending = o.endingToday;
  const lines = ending.slice(0, 15).map((g) => `• ${code(clip(`${g.namespace}/${g.serviceAccount}`, 200))} ${esc(clip(g.roleName, 100))} (${mention(g.requester.id)}) ${g.endsAt ? endLine(g, now) : ''}`);
  out.push(section(`*Grants ending today (${ending.length})*\n${lines.join('\n') || '_none_'}${ending.length > 15 ? `\n…and ${ending.length - 15} more` : ''}`));
  return out;
}

/** The whole Home tab. Never more than 100 blocks, whatever the lists hold. */
export function homeView(d: HomeData): HomeView {
  const blocks: KnownBlock[] = [];
  if (d.notice) blocks.push(section(`:information_source: ${fit(d.notice, 2800)}`));
  blocks.push(...requesterBlocks(d));
  if (d.waiting !== undefined) blocks.push(...approverBlocks(d));
  if (d.operator) blocks.push(...operatorBlocks(d.operator, d.now));
  blocks.push(context(`Updated ${when(d.now.toISOString())}`));
  return { type: 'home', callback_id: HOME_CALLBACK, private_metadata: JSON.stringify(d.pages ?? {}), blocks: blocks.slice(0, HOME_MAX_BLOCKS) };
}

/** `<list>:<page>` from a Previous / Next button, or undefined for anything else. */
export function parsePageValue(value: string): { list: HomeList; page: number } | undefined {
  const m = /^(open|grants|recent|waiting):(\d{1,6})$/.exec(value);
  if (!m) return undefined;
  return { list: m[1] as HomeList, page: Number(m[2]) };
}
