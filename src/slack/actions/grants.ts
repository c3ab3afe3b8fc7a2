/**
 * Extend and I'm done on a grant's reminder: ack, claim, hand over to the grant service, and tell the clicker
 * alone what happened. Extending past what the policy lets the requester do alone becomes a new request of the
 * same access (it goes through approval, and shares the assignment: the later end wins).
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { formatDuration } from '../../domain/grammar';
import { isApprover } from '../../domain/policy';
import type { GrantService } from '../../grants/service';
import type { RedisRequestStore } from '../../store';
import { parseGrantButtonValue } from '../blocks/grants';
import { claimOnce } from '../deliveries';
import { buttonClick, replyTo, type HomeNotices } from './click';
import { ACTION } from '../ids';
import { errorText, type SlackLogger } from '../logger';
import type { RequestService } from '../../app/requests';

export interface GrantActionDeps {
  service: RequestService;
  grants: GrantService;
  store: RedisRequestStore;
  logger: SlackLogger;
  /** Answers to clicks made in the App Home. */
  home?: HomeNotices;
}

const clicked = (body: BlockAction<ButtonAction>) => {
  const c = buttonClick(body);
  return { ...c, grantId: c.value };
};

export function registerGrantActions(app: App, deps: GrantActionDeps): void {
  const { service, grants, store, logger } = deps;

  app.action<BlockAction<ButtonAction>>(ACTION.grantDone, async ({ ack, body, respond }) => {
    await ack();
    const tell = (_r: unknown, text: string) => replyTo(body, respond, deps.home)(text);
    const c = clicked(body);
    if (!(await claimOnce(store, c.key, logger))) return;
    try {
      const g = (await grants.store.get(c.grantId))?.grant;
      if (!g) return void (await tell(respond, `There is no grant ${c.grantId}.`));
      const actorIsRequester = g.requester.id === c.actor.id;
      const actorIsApprover = isApprover(service.policy, g.namespace, c.actor.id, await service.groupsOf(c.actor.id));
      const r = await grants.askEnd(c.grantId, { reason: actorIsRequester || !actorIsApprover ? 'done' : 'revoked', actor: c.actor, actorIsRequester, actorIsApprover });
      await tell(respond, r.message);
    } catch (e) {
      logger.error(`ending grant ${c.grantId} failed: ${errorText(e)}`);
      await tell(respond, `Ending grant ${c.grantId} failed: ${errorText(e)}. Try again.`).catch(() => undefined);
    }
  });

  app.action<BlockAction<ButtonAction>>(ACTION.grantExtend, async ({ ack, body, respond }) => {
    await ack();
    const tell = (_r: unknown, text: string) => replyTo(body, respond, deps.home)(text);
    const c = clicked(body);
    const shown = parseGrantButtonValue(c.grantId);
    c.grantId = shown.grantId;
    if (!(await claimOnce(store, c.key, logger))) return;
    try {
      const g = (await grants.store.get(c.grantId))?.grant;
      if (!g) return void (await tell(respond, `There is no grant ${c.grantId}.`));
      // Extend by the grant's first duration.
      const firstEnd = g.extensions[0]?.from ?? g.endsAt;
      const extra = firstEnd ? Math.max(60, Math.round((Date.parse(firstEnd) - Date.parse(g.startedAt)) / 1000)) : 3600;
      const r = await grants.extend(c.grantId, c.actor, extra, shown.endsAt);
      if (!r.ok) return void (await tell(respond, r.message));
      if (!('needsApproval' in r)) return void (await tell(respond, `${r.message} You get another reminder before then.`));
      const outcome = await service.submit(c.actor, {
        verb: 'request',
        namespace: g.namespace,
        serviceAccount: g.serviceAccount,
        roleName: g.roleName,
        scope: g.scope,
        cluster: g.clusterName,
        reason: `extend grant ${g.id}`,
        durationSeconds: r.needsApproval.durationSeconds,
      });
      if (outcome.kind === 'created') {
        await tell(respond, `Extending needs a new approval (${r.needsApproval.why}): request ${outcome.request.id} asks for ${formatDuration(r.needsApproval.durationSeconds)} more. Once approved it shares the assignment and the later end wins.`);
      } else if (outcome.kind === 'duplicate') {
        await tell(respond, `An extension of this access is already waiting for approval: ${outcome.existingId}.`);
      } else {
        await tell(respond, outcome.kind === 'refused' ? outcome.refusal.message : outcome.message);
      }
    } catch (e) {
      logger.error(`extending grant ${c.grantId} failed: ${errorText(e)}`);
      await tell(respond, `Extending grant ${c.grantId} failed: ${errorText(e)}. Try again.`).catch(() => undefined);
    }
  });
}
