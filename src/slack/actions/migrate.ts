/**
 * The Migrate button beside each AzureIdentityBinding of `/wid legacy`, the Finish button on a migration's
 * result, and `/wid migrate --finish`: ack, claim, hand over to the request service or src/app/migrate.ts,
 * and tell the clicker alone what happened. Finish's outcome is also posted in the migration's thread.
 */
import type { App, BlockAction, ButtonAction, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { findMigration, noMigration, type Migrations } from '../../app/migrate';
import type { RequestService } from '../../app/requests';
import type { MigrateCommand } from '../../domain/grammar';
import type { Actor } from '../../domain/types';
import type { RedisRequestStore } from '../../store';
import { errorMessage, refusalMessage } from '../blocks/messages';
import { finishMessage } from '../blocks/migrate';
import { parseMigrateButtonValue } from '../blocks/migrate-button';
import type { SlackMessage } from '../blocks/text';
import { submitAnswer } from '../commands/wid';
import { claimOnce } from '../deliveries';
import { ACTION } from '../ids';
import { errorText, type SlackLogger } from '../logger';
import { buttonClick, tellClicker } from './click';

export interface MigrateActionDeps {
  service: RequestService;
  store: RedisRequestStore;
  logger: SlackLogger;
  migrations?: Migrations;
}

/** Finish one migration (by request id or by binding), answering with a message; the thread hears it too. */
export async function finishMigration(deps: MigrateActionDeps, client: WebClient, user: Actor, target: { requestId: string } | MigrateCommand): Promise<SlackMessage> {
  const migrations = deps.migrations;
  if (!migrations) return errorMessage('Migration (/wid migrate) is not configured on this wid-bot.');
  let request;
  if ('requestId' in target) {
    request = await deps.service.get(target.requestId);
    if (!request) return refusalMessage(`There is no request ${target.requestId}.`, 'migrate');
  } else {
    const cluster = migrations.policy.clusters.find((c) => c.name === (target.cluster ?? migrations.policy.defaultCluster));
    if (!cluster) return refusalMessage(`There is no cluster "${target.cluster}" in the policy. Clusters: ${migrations.policy.clusters.map((c) => c.name).join(', ')}.`, 'migrate');
    request = await findMigration(deps.store, cluster.name, target.namespace, target.binding);
    if (!request) return refusalMessage(noMigration(target.namespace, target.binding).message, 'migrate');
  }
  const outcome = await migrations.finish(user, await deps.service.groupsOf(user.id), request);
  const msg = finishMessage(outcome.kind === 'finished', outcome.message);
  if (outcome.kind === 'finished' && request.slack?.ts) {
    const by = `<@${user.id}> pressed Finish: `;
    await client.chat
      .postMessage({ channel: request.slack.channel, thread_ts: request.slack.ts, text: `${by}${msg.text}`.slice(0, 3000), ...(msg.blocks ? { blocks: msg.blocks } : {}) })
      .catch((e: unknown) => deps.logger.warn(`could not post the Finish of ${request.id} in its thread: ${errorText(e)}`));
  }
  return msg;
}

function tellMessage(respond: RespondFn, msg: SlackMessage): Promise<unknown> {
  return respond({ response_type: 'ephemeral', replace_original: false, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) });
}

export function registerMigrateActions(app: App, deps: MigrateActionDeps): void {
  const { service, store, logger } = deps;

  app.action<BlockAction<ButtonAction>>(ACTION.migrate, async ({ ack, body, respond }) => {
    await ack();
    const c = buttonClick(body);
    if (!(await claimOnce(store, c.key, logger))) return;
    const target = parseMigrateButtonValue(c.value);
    if (!target) return void (await tellClicker(respond, 'This Migrate button carries no binding; run /wid legacy again.').catch(() => undefined));
    try {
      const outcome = await service.submit(c.actor, { verb: 'migrate', namespace: target.namespace, binding: target.binding, cluster: target.cluster, finish: false });
      await tellMessage(respond, submitAnswer(outcome, 'migrate'));
    } catch (e) {
      logger.error(`migrate ${target.namespace}/${target.binding} failed: ${errorText(e)}`);
      await tellClicker(respond, `Starting the migration of ${target.namespace}/${target.binding} failed: ${errorText(e)}. Try /wid migrate ${target.namespace} ${target.binding}.`).catch(() => undefined);
    }
  });

  app.action<BlockAction<ButtonAction>>(ACTION.migrateFinish, async ({ ack, body, respond, client }) => {
    await ack();
    const c = buttonClick(body);
    if (!(await claimOnce(store, c.key, logger))) return;
    try {
      await tellMessage(respond, await finishMigration(deps, client, c.actor, { requestId: c.value }));
    } catch (e) {
      logger.error(`finish ${c.value} failed: ${errorText(e)}`);
      await tellClicker(respond, `Finishing ${c.value} failed: ${errorText(e)}. Try again.`).catch(() => undefined);
    }
  });
}
