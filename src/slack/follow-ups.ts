/**
 * Work after an ack runs through here, a few tasks at a time. Acks (Slack's hard 3-second deadline)
 * keep the CPU under a burst; answers go out over response_url, which stays valid for 30 minutes.
 */
import { errorText, type SlackLogger } from './logger';

export class FollowUps {
  private running = 0;
  private readonly queue: Array<() => Promise<void>> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly logger: SlackLogger,
    /** Tasks at once; more wait their turn. */
    private readonly concurrency = 4,
  ) {}

  /** Queue a task; it runs once fewer than `concurrency` tasks are running. Never throws. */
  run(task: () => Promise<void>): void {
    this.queue.push(task);
    this.pump();
  }

  /** Tasks waiting or running. */
  get pending(): number {
    return this.queue.length + this.running;
  }

  /** Resolves when nothing is waiting or running (for shutdown). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const task = this.queue.shift() as () => Promise<void>;
      this.running++;
      // a macrotask boundary first, so acks already waiting on the event loop go out before this work starts
      setImmediate(() => {
        task()
          .catch((e: unknown) => this.logger.error(`follow-up work failed: ${errorText(e)}`))
          .finally(() => {
            this.running--;
            this.pump();
            if (this.pending === 0) {
              const waiters = this.idleWaiters;
              this.idleWaiters = [];
              for (const w of waiters) w();
            }
          });
      });
    }
  }
}
