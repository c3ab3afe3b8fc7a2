/**
 * The SDK-level retry wid-bot uses for Azure calls: a few quick retries for 5xx, network errors and
 * short Retry-After throttling. Anything longer is left to the queue (which retries with backoff and
 * honours retryAfterSeconds), so a worker never sleeps minutes inside one HTTP call.
 */
import { retryPolicy, type PipelinePolicy, type PipelineResponse, type RetryStrategy, type RestError } from '@azure/core-rest-pipeline';
import { retryAfterSeconds } from './errors';

export interface AzureRetryOptions {
  /** Retries after the first attempt (default 3). */
  maxRetries?: number;
  /** First backoff delay for 5xx / network errors (default 500 ms), doubled per retry with jitter. */
  retryDelayMs?: number;
  /** Longest backoff delay (default 4000 ms). */
  maxRetryDelayMs?: number;
  /** A 429/503 asking to wait longer than this is not retried here but surfaced as retryable (default 10 s). */
  maxRetryAfterSeconds?: number;
}

const TRANSIENT_CODES = new Set(['REQUEST_SEND_ERROR', 'ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ESOCKETTIMEDOUT', 'ECONNABORTED']);

function waitAsked(response: PipelineResponse | undefined): number | undefined {
  if (!response || (response.status !== 429 && response.status !== 503)) return undefined;
  return retryAfterSeconds({ get: (n) => response.headers.get(n) });
}

export function azureRetryStrategies(options: AzureRetryOptions = {}): RetryStrategy[] {
  const base = options.retryDelayMs ?? 500;
  const max = options.maxRetryDelayMs ?? 4000;
  const cap = options.maxRetryAfterSeconds ?? 10;
  const throttling: RetryStrategy = {
    name: 'widThrottling',
    retry({ response }) {
      const after = waitAsked(response);
      if (after === undefined) return { skipStrategy: true };
      // Too long a wait: give it back to the queue (the error carries retryAfterSeconds).
      if (after > cap) return { skipStrategy: true };
      return { retryAfterInMs: after * 1000 };
    },
  };
  const transient: RetryStrategy = {
    name: 'widTransient',
    retry({ retryCount, response, responseError }) {
      const status = response?.status;
      const statusTransient = status !== undefined && (status === 408 || (status >= 500 && status !== 501 && status !== 505));
      const err = responseError as RestError | undefined;
      const networkTransient = !response && err !== undefined && typeof err.code === 'string' && TRANSIENT_CODES.has(err.code);
      if (!statusTransient && !networkTransient) return { skipStrategy: true };
      // A 503 whose Retry-After is over the cap goes back to the queue too.
      const after = waitAsked(response);
      if (after !== undefined && after > cap) return { skipStrategy: true };
      const exp = Math.min(max, base * 2 ** retryCount);
      return { retryAfterInMs: Math.round(exp / 2 + (Math.random() * exp) / 2) };
    },
  };
  return [throttling, transient];
}

export function azureRetryPolicy(options: AzureRetryOptions = {}): PipelinePolicy {
  return retryPolicy(azureRetryStrategies(options), { maxRetries: options.maxRetries ?? 3 });
}

/** Swap a client's default retry policy for wid-bot's. */
export function useAzureRetry(pipeline: { removePolicy(o: { name: string }): unknown; addPolicy(p: PipelinePolicy, o: { phase: 'Retry' }): void }, options: AzureRetryOptions = {}): void {
  pipeline.removePolicy({ name: 'defaultRetryPolicy' });
  pipeline.addPolicy(azureRetryPolicy(options), { phase: 'Retry' });
}
