export * from './names';
export { WID_BACKOFF_TYPE, widBackoffStrategy, type BackoffSettings } from './backoff';
export { createQueues, type CreateQueuesOptions, type EnqueueProvisionOptions, type WidQueues } from './queues';
export {
  createProvisionWorker,
  createTimerWorker,
  createQueueWorker,
  type JobHelpers,
  type JobProcessor,
  type ProvisionProcessor,
  type TimerProcessor,
  type WidWorkerOptions,
  type ProvisionWorkerOptions,
  type TimerWorkerOptions,
  type WidWorker,
} from './worker';
export { withLock, type WithLockOptions, type HeldLock } from './lock';
export { acquire, type AcquireOptions, type RateLane } from './rate-limiter';
export { watchProvisionEvents, type ProvisionEventHandlers, type ProvisionEventsWatch } from './events';
