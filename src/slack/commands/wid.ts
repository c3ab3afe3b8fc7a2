/**
 * `/wid …`: acks at once, claims the delivery, then hands each verb to the request service or the
 * inspect hook and answers the user alone (response_url).
 */
import type { App, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { WidError } from '../../domain/errors';
import { parseCommand, type Verb } from '../../domain/grammar';
import { requestOptionsFor } from '../../domain/policy';
import { duplicateMessage, errorMessage, helpMessage, infoMessage, refusalMessage, requestedMessage } from '../blocks/messages';
import { nothingToRequestModal, requestModal } from '../blocks/modals';
import { myRequestsMessage, statusMessage } from '../blocks/status';
import type { SlackMessage } from '../blocks/text';
import { claimOnce } from '../deliveries';
import type { FollowUps } from '../follow-ups';
import { COMMAND } from '../ids';
import type { InspectHook, InspectProgress, InspectVerb } from '../inspect';
import { errorText, type SlackLogger } from '../logger';
import type { RequestService, SubmitOutcome } from '../../app/requests';
import type { RedisRequestStore } from '../../store';
import type { GrantService } from '../../grants/service';
import { grantEndBlocks, grantEndedBlocks, grantsListMessage } from '../blocks/grants';
import type { Migrations } from '../../app/migrate';
import { finishMigration } from '../actions/migrate';
import type { RefederateService } from '../../app/refederate';
import { answerRefederate } from '../refederate';
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
  app.command(COMMAND, async ({ command, ack, respond, client }) => {
    await ack();
    const inv = { userId: command.user_id, userName: command.user_name, channelId: command.channel_id, triggerId: command.trigger_id, text: command.text };
    // opening the modal must happen at once: its trigger_id is valid for 3 s
    const urgent = /^\s*request\s*$/i.test(command.text);
    const work = async () => {
      if (!(await claimOnce(deps.store, `cmd:${command.trigger_id}`, deps.logger))) return;
      try {
        await runCommand(deps, client, respond, inv);
      } catch (e) {
        deps.logger.error(`/wid ${command.text} failed: ${errorText(e)}`);
        await ephemeral(respond, errorMessage(e instanceof WidError ? e.message : `Something went wrong: ${errorText(e)}. Try again in a minute.`)).catch(() => undefined);
      }
    };
    if (urgent) await work();
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
        const r = await service.get(cmd.id);
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
    case 'cluster':
    case 'list':
    case 'creds':
    case 'audit':
    case 'legacy':
      await runInspection(deps, client, respond, inv, cmd.verb, { ...(cmd.cluster ? { cluster: cmd.cluster } : {}), ...('namespace' in cmd && cmd.namespace ? { namespace: cmd.namespace } : {}) });
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

async function runInspection(deps: CommandDeps, client: WebClient, respond: RespondFn, inv: Invocation, verb: InspectVerb, args: { cluster?: string; namespace?: string }): Promise<void> {
  if (!deps.inspect) {
    await ephemeral(respond, infoMessage(`Inspection (/wid ${verb}) is not configured on this wid-bot; the operator CLI \`wid ${verb}\` does the same.`));
    return;
  }
  await ephemeral(respond, infoMessage(`:mag: Scanning${args.cluster ? ` cluster ${args.cluster}` : ''} for /wid ${verb}…`));
  // Long scans replace the "Scanning…" note with their progress; response_url allows 5 posts, so at most 2 here.
  let progressPosts = 0;
  let lastProgressAt = Date.now();
  const onProgress = (p: InspectProgress): void => {
    if (progressPosts >= 2 || Date.now() - lastProgressAt < PROGRESS_EVERY_MS || p.total === 0) return;
    progressPosts++;
    lastProgressAt = Date.now();
    void respond({ response_type: 'ephemeral', replace_original: true, text: `:mag: /wid ${verb}: ${p.phase} ${p.done} of ${p.total}…` }).catch(() => undefined);
  };
  let messages: SlackMessage[];
  try {
    messages = await deps.inspect(verb, args, { id: inv.userId, ...(inv.userName ? { name: inv.userName } : {}) }, onProgress);
  } catch (e) {
    await ephemeral(respond, errorMessage(e instanceof WidError ? e.message : `/wid ${verb} failed: ${errorText(e)}`));
    return;
  }
  const [first, ...rest] = messages;
  if (!first) return void (await ephemeral(respond, infoMessage(`/wid ${verb} found nothing to report.`)));
  let threadTs: string | undefined;
  try {
    const posted = await client.chat.postMessage({ channel: inv.channelId, text: first.text, ...(first.blocks ? { blocks: first.blocks } : {}), unfurl_links: false });
    threadTs = posted.ts;
  } catch (e) {
    // the bot may not be in this channel: show everything to the user alone
    deps.logger.info(`/wid ${verb}: posting in ${inv.channelId} failed (${errorText(e)}); answering ephemerally`);
    for (const m of messages) await ephemeral(respond, m);
    return;
  }
  for (const m of rest) {
    await client.chat.postMessage({ channel: inv.channelId, thread_ts: threadTs, text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}), unfurl_links: false });
  }
}
