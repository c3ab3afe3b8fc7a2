import { QueueEvents } from 'bullmq';
import { closeConnection, connectWorker } from '../store/connection';
import { DEFAULT_PREFIX, storeKeys } from '../store/keys';
import { parseProvisionJobId, PROVISION_QUEUE } from './names';

export interface ProvisionEventHandlers {
  /** What the processor passed to helpers.updateProgress. */
  onProgress?(requestId: string, progress: unknown, jobId: string): void;
  onCompleted?(requestId: string, jobId: string): void;
  /** Only when the job failed for good (not for a failure that will be retried). */
  onFailed?(requestId: string, reason: string, jobId: string): void;
}

export interface ProvisionEventsWatch {
  close(): Promise<void>;
}

/**
 * Follows the wid-provision events stream (every process that watches receives every event), e.g. for the
 * Slack side to update an approval message as steps start and end. Resolves once listening.
 */
export async function watchProvisionEvents(redisUrl: string, prefix: string = DEFAULT_PREFIX, handlers: ProvisionEventHandlers): Promise<ProvisionEventsWatch> {
  const redis = connectWorker(redisUrl);
  const events = new QueueEvents(PROVISION_QUEUE, { connection: redis, prefix: storeKeys(prefix).bullPrefix });
  events.on('error', () => {
    // connection errors: BullMQ reconnects and resumes from the last event id
  });
  events.on('progress', ({ jobId, data }) => handlers.onProgress?.(parseProvisionJobId(jobId).requestId, data, jobId));
  events.on('completed', ({ jobId }) => handlers.onCompleted?.(parseProvisionJobId(jobId).requestId, jobId));
  events.on('failed', ({ jobId, failedReason }) => handlers.onFailed?.(parseProvisionJobId(jobId).requestId, failedReason, jobId));
  await events.waitUntilReady();
  return {
    async close() {
      await events.close();
      await closeConnection(redis);
    },
  };
}
