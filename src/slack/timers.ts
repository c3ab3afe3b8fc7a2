/**
 * The wid-timers processor: expiry and approver reminders of pending requests (BullMQ delayed jobs).
 */
import type { TimerProcessor } from '../queue';
import type { RequestService } from '../app/requests';

export function timerProcessor(service: RequestService): TimerProcessor {
  return async ({ requestId, kind }) => {
    if (kind === 'expire') await service.expire(requestId);
    else await service.remind(requestId);
  };
}
