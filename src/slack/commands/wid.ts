/**
 * `/wid …`: acks at once, claims the delivery, then hands each verb to the request service or the
 * inspect hook and answers the user alone (response_url).
 */
import type { App, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { WidError } from '../../domain/errors';
import { parseCommand, type Verb } from '../../domain/grammar';
import { isOperator, requestOptionsFor } from '../../domain/policy';
import type { PolicyCheckReport } from '../../app/policy-check';
import { policyCheckMessage } from '../blocks/policy-check';
import { duplicateMessage, errorMessage, helpMessage, infoMessage, refusalMessage, requestedMessage } from '../blocks/messages';
import { nothingToRequestModal, requestModal } from '../blocks/modals';
import { myRequestsMessage, statusMessage } from '../blocks/status';
import type { SlackMessage } from '../blocks/text';
import { claimOnce } from '../deliveries';
import { FollowUps } from '../follow-ups';
import { COMMAND } from '../ids';
import type { InspectAnswer, InspectHook, InspectProgress, InspectVerb } from '../inspect';
import { errorText, type SlackLogger } from '../logger';
import type { RequestService, SubmitOutcome } from '../../app/requests';
import type { RedisRequestStore } from '../../store';
import type { GrantService } from '../../grants/service';
import { grantEndBlocks, grantEndedBlocks, grantsListMessage } from '../blocks/grants';
import type { Migrations } from '../../app/migrate';
import { finishMigration } from '../actions/migrate';
import type { RefederateService } from '../../app/refederate';
import { answerRefederate } from '../refederate';
import { describeScope, mayViewRequest, seesAnything, viewScope, type ViewScope } from '../../domain/visibility';
import { withLock } from '../../queue/lock';
import { INSPECT_VERBS } from '../../inspect/types';
import { EarlyResults, pagesAfterEarly, progressText } from '../early-results';
/** How often a long inspection tells the user how far it got. */
const PROGRESS_EVERY_MS = 5000;

export interface CommandDeps {
  service: RequestService;
  /** Time-bound grants: `/wid grants`, and the end in `/wid status`. */
  grants?: GrantService;
  followUps: FollowUps;
  store: RedisRequestStore;
  logger: SlackLogger;
  inspect?: InspectHook;
  /** `/wid migrate` (src/app/migrate.ts). */
  migrations?: Migrations;
  /** `/wid refederate` (src/app/refederate.ts). */
  refederate?: RefederateService;
  /** `/wid policy check` (operators): the policy against Slack, Azure and the clusters (src/app/policy-check.ts). */
  policyCheck?: () => Promise<PolicyCheckReport>;
  /**
   * The lane the inspection scans run in, apart from every other command's follow-up work, so scans never hold up
   * `/wid request` and the rest. Default: a lane of its own with DEFAULT_SCAN_CONCURRENCY.
   */
  scans?: FollowUps;
  /** The operators' App Home: a typed `/wid audit` updates its last-audit counts as its Run audit does. */
  home?: { auditFinished(cluster: string, counts: Record<string, number>, userId: string): Promise<void> };
}

/** Inspection scans at once in one web process (each scan is itself many Azure calls at once). */
export const DEFAULT_SCAN_CONCURRENCY = 2;
/** A person's scan lock lasts this long without renewal (renewed while the scan runs; a dead process frees it after this). */
const SCAN_LOCK_TTL_MS = 60_000;
/** Whether the typed command is an inspection (INSPECT_VERBS): those run in the scan lane, one per person at a time. */
function isInspection(text: string): boolean {
  const verb = text.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  return (INSPECT_VERBS as readonly string[]).includes(verb);
}

function ephemeral(respond: RespondFn, msg: SlackMessage): Promise<unknown> {
  return respond({ response_type: 'ephemeral', text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) });
}

/** The answer to a submitted request, whatever happened. */
export function submitAnswer(outcome: SubmitOutcome, verb: Verb): SlackMessage {
  switch (outcome.kind) {
    case 'created':
      return requestedMessage(outcome.request, outcome.link, { breakGlass: outcome.breakGlass === true });
    case 'duplicate':
      return duplicateMessage(outcome.existingId, outcome.link);
    case 'refused':
      return refusalMessage(outcome.refusal.message, verb);
    case 'error':
      return errorMessage(outcome.message);
  }
}

export function registerWidCommand(app: App, deps: CommandDeps): void {
  const scanLane = deps.scans ?? new FollowUps(deps.logger, DEFAULT_SCAN_CONCURRENCY);
  const laneDeps: CommandDeps = { ...deps, scans: scanLane };
  app.command(COMMAND, async ({ command, ack, respond, client }) => {
    await ack();
    const inv = { userId: command.user_id, userName: command.user_name, channelId: command.channel_id, triggerId: command.trigger_id, text: command.text };
    // opening the modal must happen at once: its trigger_id is valid for 3 s
    const urgent = /^\s*request\s*$/i.test(command.text);
    const work = async () => {
      if (!(await claimOnce(deps.store, `cmd:${command.trigger_id}`, deps.logger))) return;
      try {
        await runCommand(laneDeps, client, respond, inv);
      } catch (e) {
        deps.logger.error(`/wid ${command.text} failed: ${errorText(e)}`);
        await ephemeral(respond, errorMessage(e instanceof WidError ? e.message : `Something went wrong: ${errorText(e)}. Try again in a minute.`)).catch(() => undefined);
      }
    };
    if (urgent) await work();
    // an inspection takes its person's scan lock at once and then waits for the scan lane, not for the other commands' lane
    else if (isInspection(command.text)) await work();
    else deps.followUps.run(work);
  });
}

interface Invocation {
  userId: string;
  userName?: string;
  channelId: string;
  triggerId: string;
  text: string;
}

async function runCommand(deps: CommandDeps, client: WebClient, respond: RespondFn, inv: Invocation): Promise<void> {
  const { service } = deps;
  const user = { id: inv.userId, ...(inv.userName ? { name: inv.userName } : {}) };
  const text = inv.text.trim();
  if (text === '') return void (await ephemeral(respond, helpMessage()));
  if (/^request$/i.test(text)) return openRequestModal(deps, client, respond, inv);

  const parsed = parseCommand(text);
  if (!parsed.ok) return void (await ephemeral(respond, refusalMessage(parsed.error.message)));
  const cmd = parsed.value;
  switch (cmd.verb) {
    case 'help':
      await ephemeral(respond, helpMessage(cmd.topic));
      return;
    case 'request':
    case 'revoke':
    case 'federate': {
      const outcome = await service.submit(user, cmd);
      await ephemeral(respond, submitAnswer(outcome, cmd.verb));
      return;
    }
    case 'migrate': {
      if (cmd.finish) return void (await ephemeral(respond, await finishMigration(deps, client, user, cmd)));
      const outcome = await service.submit(user, cmd);
      await ephemeral(respond, submitAnswer(outcome, cmd.verb));
      return;
    }
    case 'status': {
      if (cmd.id) {
        // The same reads and the same answer whether the request does not exist or this person may not see it.
        const [found, groups] = await Promise.all([service.get(cmd.id), service.groupsOf(inv.userId)]);
        const r = found && mayViewRequest(service.policy, found, inv.userId, groups) ? found : undefined;
        if (!r) return void (await ephemeral(respond, refusalMessage(`There is no request ${cmd.id}. Request ids look like wid-abcdefgh23; \`/wid status\` lists yours.`, 'status')));
        const status = statusMessage(r, await service.history(r.id));
        const g = r.kind === 'grant' ? (await deps.grants?.store.get(r.id))?.grant : undefined;
        const extra = g ? (g.state === 'ended' ? grantEndedBlocks(g) : grantEndBlocks(g, new Date())) : [];
        await ephemeral(respond, extra.length ? { ...status, blocks: [...(status.blocks ?? []), ...extra] } : status);
        return;
      }
      const o = await service.overview(inv.userId);
      await ephemeral(respond, myRequestsMessage(o.mine, o.waitingOnMe));
      return;
    }
    case 'withdraw': {
      const outcome = await service.withdraw(cmd.id, user);
      await ephemeral(respond, outcome.changed ? infoMessage(outcome.message) : refusalMessage(outcome.message));
      return;
    }
    case 'grants': {
      if (!deps.grants) return void (await ephemeral(respond, infoMessage('Grants are not configured on this wid-bot.')));
      const open = (await deps.grants.store.open()).filter((g) => !cmd.namespace || g.namespace === cmd.namespace);
      await ephemeral(respond, grantsListMessage(open, new Date(), cmd.namespace));
      return;
    }
    case 'refederate':
      await answerRefederate(deps.refederate, respond, user, cmd.cluster, cmd.reason);
      return;
    case 'policy': {
      if (!isOperator(service.policy, inv.userId, await service.groupsOf(inv.userId))) {
        return void (await ephemeral(respond, refusalMessage('Only wid-bot\'s operators (the policy\'s `operators`) may run /wid policy check. Ask one of them, or run `wid policy check --live` where wid-bot is deployed.')));
      }
      if (!deps.policyCheck) return void (await ephemeral(respond, infoMessage('The live policy check is not configured on this wid-bot; the operator CLI `wid policy check --live` does the same.')));
      await ephemeral(respond, infoMessage(':mag: Checking the policy against Slack, Azure and the clusters…'));
      await ephemeral(respond, policyCheckMessage(await deps.policyCheck()));
      return;
    }
    case 'cluster':
    case 'list':
    case 'creds':
    case 'audit':
    case 'legacy':
      await startInspection(deps, client, respond, inv, cmd.verb, { ...(cmd.cluster ? { cluster: cmd.cluster } : {}), ...('namespace' in cmd && cmd.namespace ? { namespace: cmd.namespace } : {}) }, cmd.share === true);
      return;
  }
}

async function openRequestModal(deps: CommandDeps, client: WebClient, respond: RespondFn, inv: Invocation): Promise<void> {
  const groups = await deps.service.groupsOf(inv.userId);
  const options = requestOptionsFor(deps.service.policy, inv.userId, groups);
  const view = options.namespaces.length === 0 ? nothingToRequestModal() : requestModal(options, { channel: inv.channelId });
  try {
    await client.views.open({ trigger_id: inv.triggerId, view });
  } catch (e) {
    deps.logger.warn(`views.open failed: ${errorText(e)}`);
    await ephemeral(respond, errorMessage(`wid-bot could not open the request form (${errorText(e)}). Type the request instead: /wid request <namespace> <serviceaccount> <role…>`));
  }
}

/**
 * One scan per person at a time (a Redis lock, so across web replicas too): a second one while the first runs is
 * refused at once. The scan itself waits for the scan lane, never for the other commands' lane.
 */
async function startInspection(deps: CommandDeps, client: WebClient, respond: RespondFn, inv: Invocation, verb: InspectVerb, args: { cluster?: string; namespace?: string }, share: boolean): Promise<void> {
  if (!deps.inspect) {
    await ephemeral(respond, infoMessage(`Inspection (/wid ${verb}) is not configured on this wid-bot; the operator CLI \`wid ${verb}\` does the same.`));
    return;
  }
  const policy = deps.service.policy;
  const scope: ViewScope = viewScope(policy, inv.userId, await deps.service.groupsOf(inv.userId));
  if (!seesAnything(scope)) {
    await ephemeral(respond, infoMessage(`/wid ${verb} shows what the policy lets you see, and that is ${describeScope(policy, scope)}`));
    return;
  }
  if (!scope.all && args.namespace !== undefined && !scope.namespaces.includes(args.namespace)) {
    await ephemeral(respond, infoMessage(`/wid ${verb} ${args.namespace}: you may see ${describeScope(policy, scope)}.`));
    return;
  }
  const { redis, keys } = deps.store;
  const lockKey = keys.lock(`scan:${inv.userId}`);
  const noteKey = keys.lock(`scan-note:${inv.userId}`);
  const lane = deps.scans as FollowUps;
  try {
    await withLock(
      redis,
      lockKey,
      SCAN_LOCK_TTL_MS,
      async () => {
        await redis.set(noteKey, JSON.stringify({ verb, at: Date.now() }), 'PX', SCAN_LOCK_TTL_MS * 60).catch(() => undefined);
        try {
          await new Promise<void>((resolve) => lane.run(() => runInspection(deps, client, respond, inv, verb, args, share, scope).finally(resolve)));
        } finally {
          await redis.del(noteKey).catch(() => undefined);
        }
      },
      { waitMs: 0 },
    );
  } catch (e) {
    if (!(e instanceof WidError && e.code === 'LockBusy')) throw e;
    const note = await redis.get(noteKey).catch(() => null);
    let running = 'scan';
    let since = '';
    try {
      const parsed = note ? (JSON.parse(note) as { verb?: unknown; at?: unknown }) : undefined;
      if (typeof parsed?.verb === 'string') running = `/wid ${parsed.verb}`;
      if (typeof parsed?.at === 'number') since = ` (started ${Math.max(0, Math.round((Date.now() - parsed.at) / 1000))} s ago)`;
    } catch {
      // an unreadable note only loses the detail
    }
    await ephemeral(respond, refusalMessage(`Your ${running} is still running${since}: wid-bot runs one scan per person at a time. Its answer comes here when it ends; ask /wid ${verb} again after that.`));
  }
}

/** A shared answer names who asked; a private one says it is private and how to share it. */
function privacyNote(share: boolean): string {
  return share ? 'Shared in the channel with --share.' : 'Only you can see this. Add `--share` to post it in the channel.';
}

/** The first message with a line of context on top (the note fits: a summary message has a handful of blocks). */
function withNote(m: SlackMessage, note: string): SlackMessage {
  const blocks = m.blocks ?? [];
  if (blocks.length >= 50) return m;
  return { text: `${note} ${m.text}`.slice(0, 3000), blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: note }] }, ...blocks] };
}

async function runInspection(deps: CommandDeps, client: WebClient, respond: RespondFn, inv: Invocation, verb: InspectVerb, args: { cluster?: string; namespace?: string }, share: boolean, scope: ViewScope): Promise<void> {
  const inspect = deps.inspect as InspectHook;
  const policy = deps.service.policy;
  // response_url allows 5 posts: the note, at most 2 progress updates, the summary, and one spare.
  let responsePosts = 1;
  await ephemeral(respond, infoMessage(`:mag: Scanning${args.cluster ? ` cluster ${args.cluster}` : ''} for /wid ${verb}…`));
  // Long scans replace the "Scanning…" note with their progress.
  let progressPosts = 0;
  let lastProgressAt = Date.now();
  const onProgress = (p: InspectProgress): void => {
    if (progressPosts >= 2 || Date.now() - lastProgressAt < PROGRESS_EVERY_MS || p.total === 0) return;
    progressPosts++;
    responsePosts++;
    lastProgressAt = Date.now();
    void respond({ response_type: 'ephemeral', replace_original: true, text: progressText(verb, p) }).catch(() => undefined);
  };
  // The first page of the results so far, to the asker alone, while the scan goes on (src/slack/early-results.ts).
  const early = new EarlyResults({
    verb,
    post: async (m, note) => {
      const withEarlyNote = withNote(m, note);
      await client.chat.postEphemeral({ channel: inv.channelId, user: inv.userId, text: withEarlyNote.text, ...(withEarlyNote.blocks ? { blocks: withEarlyNote.blocks } : {}) });
    },
    onError: (e) => deps.logger.info(`/wid ${verb}: the early results could not be posted (${errorText(e)}); the full answer follows`),
  });
  let answer: InspectAnswer;
  try {
    const got = await inspect(verb, args, { id: inv.userId, ...(inv.userName ? { name: inv.userName } : {}), scope }, (p) => {
      onProgress(p);
      early.progress(p);
    });
    answer = Array.isArray(got) ? { messages: got } : got;
  } catch (e) {
    await early.settled();
    await ephemeral(respond, errorMessage(e instanceof WidError ? e.message : `/wid ${verb} failed: ${errorText(e)}`));
    return;
  }
  await early.settled();
  if (answer.auditCounts && answer.cluster && deps.home) {
    await deps.home.auditFinished(answer.cluster, answer.auditCounts, inv.userId).catch((e: unknown) => deps.logger.warn(`recording the audit for the App Home failed: ${errorText(e)}`));
  }
  const [head, ...rest] = answer.messages;
  if (!head) return void (await ephemeral(respond, infoMessage(`/wid ${verb} found nothing to report.`)));
  const notes = [
    ...(answer.reusedAgeMs !== undefined ? [`:recycle: Reused a scan from ${Math.max(0, Math.round(answer.reusedAgeMs / 1000))} s ago (a scan this fresh of the same cluster is not repeated).`] : []),
    ...(scope.all ? [] : [`You see ${describeScope(policy, scope)}.`]),
    privacyNote(share),
  ];
  const first = withNote(head, notes.join(' '));
  if (share) {
    let threadTs: string | undefined;
    try {
      const posted = await client.chat.postMessage({ channel: inv.channelId, text: first.text, ...(first.blocks ? { blocks: first.blocks } : {}), unfurl_links: false });
      threadTs = posted.ts;
    } catch (e) {
      // the bot may not be in this channel: show it to the user alone
      deps.logger.info(`/wid ${verb}: posting in ${inv.channelId} failed (${errorText(e)}); answering privately`);
      await answerPrivately(deps, client, respond, inv, verb, withNote(head, `wid-bot could not post in this channel (${errorText(e)}), so only you see this; invite it to share.`), rest, responsePosts);
      return;
    }
    for (const m of rest) {
      await client.chat.postMessage({ channel: inv.channelId, thread_ts: threadTs, text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}), unfurl_links: false });
    }
    return;
  }
  await answerPrivately(deps, client, respond, inv, verb, first, pagesAfterEarly(rest, early.posted), responsePosts);
}

/**
 * The answer to the asker alone: the summary over response_url (which works in any channel and DM), the pages
 * as ephemerals in the channel (no response_url budget); where the bot may not post ephemerals, the pages
 * go over response_url while its 5 posts last, and the last one says what is left out.
 */
async function answerPrivately(deps: CommandDeps, client: WebClient, respond: RespondFn, inv: Invocation, verb: InspectVerb, first: SlackMessage, rest: SlackMessage[], responsePosts: number): Promise<void> {
  await ephemeral(respond, first);
  let used = responsePosts + 1;
  for (let i = 0; i < rest.length; i++) {
    const m = rest[i] as SlackMessage;
    try {
      await client.chat.postEphemeral({ channel: inv.channelId, user: inv.userId, text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}) });
      continue;
    } catch (e) {
      deps.logger.info(`/wid ${verb}: an ephemeral in ${inv.channelId} failed (${errorText(e)}); using the response URL`);
    }
    if (used >= 5) return;
    const left = rest.length - i - 1;
    if (used === 4 && left > 0) {
      await ephemeral(respond, infoMessage(`/wid ${verb}: ${left + 1} more pages could not be shown here (wid-bot may not post in this channel). Run it where wid-bot is a member, or use the CLI \`wid ${verb} --json\`.`));
      return;
    }
    await ephemeral(respond, m);
    used++;
  }
}
