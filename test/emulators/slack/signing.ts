/** Slack's request signing: `v0=` + hex(HMAC-SHA256(secret, `v0:${timestamp}:${rawBody}`)). */
import { createHmac } from 'node:crypto';

export function signSlackRequest(secret: string, timestamp: string | number, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}
