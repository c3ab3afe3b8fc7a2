/**
 * The inspection verbs — cluster, list, creds, audit, legacy — as one core for Slack and the CLI.
 */
import { WidError } from '../domain/errors';
import { createInspector, type InspectorDeps } from './inspector';
import { renderSlack, renderSlackError, type SlackMessage } from './render/slack';
import type { InspectVerb, ProgressCallback } from './types';

export { createInspector, resolveCluster, type Inspector, type InspectorDeps, type InspectArgs } from './inspector';
export { renderTable } from './render/table';
export { renderSlack, findingText, type SlackMessage } from './render/slack';
export { auditCluster, CREDENTIAL_LIMIT_WARNING_AT } from './audit';
export { inspectCluster } from './cluster';
export { inspectList } from './list';
export { inspectCreds } from './creds';
export { inspectLegacy } from './legacy';
export { DEFAULT_CONCURRENCY, withRetry, mapBounded, mapStreamBounded, type IdentityScope } from './gather';
export * from './types';

export type SlackInspect = (
  verb: InspectVerb,
  args: { cluster?: string; namespace?: string },
  user: string,
  onProgress?: ProgressCallback,
) => Promise<SlackMessage[]>;

/**
 * What the Slack app calls for `/wid cluster|list|creds|audit|legacy`: the messages to post (the first
 * in the channel, the rest in its thread). A failure the user should read (unknown cluster, Azure or
 * Kubernetes refusing) comes back as a message too; only programming errors throw.
 */
export function inspectForSlack(deps: InspectorDeps): SlackInspect {
  const inspector = createInspector(deps);
  return async (verb, args, user, onProgress) => {
    try {
      const result = await inspector.run(verb, args, onProgress);
      return renderSlack(result, user);
    } catch (e) {
      if (e instanceof WidError) return renderSlackError(verb, e.message);
      throw e;
    }
  };
}
