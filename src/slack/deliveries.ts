/**
 * Slack redelivers a command or click it thinks was not acked (X-Slack-Retry-Num). Each delivery is
 * claimed in Redis by the ids Slack repeats in a redelivery, so the work after the ack runs once.
 */
import type { RedisRequestStore } from '../store';
import { errorText, type SlackLogger } from './logger';

/** Slack stops redelivering after a few minutes; an hour is plenty. */
const CLAIM_TTL_SECONDS = 3600;

export async function claimOnce(store: RedisRequestStore, key: string, logger: SlackLogger): Promise<boolean> {
  try {
    return await store.claimDelivery(key, CLAIM_TTL_SECONDS);
  } catch (e) {
    // without Redis nothing after the ack can work either; let the handler report it
    logger.warn(`could not claim Slack delivery ${key}: ${errorText(e)}`);
    return true;
  }
}
