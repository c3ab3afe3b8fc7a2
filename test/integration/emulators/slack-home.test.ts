/**
 * The Slack emulator's App Home: views.publish through the real WebClient (Slack's answer and error shapes,
 * Block Kit's 100-block limit, the 250 kB view limit, hash conflicts, Tier 4 rate limiting with Retry-After),
 * and the app_home_opened event shaped like Slack's.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, WebClient, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { expectSameShape } from '../../emulators/common/shape';
import { startSlackEmulator, type SlackEmulator } from '../../emulators/slack';
import { quietSlackLogger } from '../../support/helpers';
import { referenceDir } from '../../support/reference';

const REF = referenceDir('slack');
const ref = (name: string) => JSON.parse(readFileSync(path.join(REF, name), 'utf8')) as Record<string, unknown>;
const ALICE = 'U0ALICE001';

let slack: SlackEmulator;
let web: WebClient;

beforeEach(async () => {
  slack = await startSlackEmulator();
  web = new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logger: quietSlackLogger });
});
afterEach(async () => {
  await slack.close();
});

async function slackError(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (e) {
    const err = e as WebAPIPlatformError;
    expect(err.code).toBe(ErrorCode.PlatformError);
    return err.data as unknown as Record<string, unknown>;
  }
  throw new Error('expected the Slack call to fail');
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

test('views.publish answers like Slack’s example and keeps the view per user', async () => {
  const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'A simple section with some sample sentence.', verbatim: false } }];
  const res = await web.views.publish({ user_id: ALICE, view: { type: 'home', callback_id: 'identify_your_home_tab', private_metadata: 'Shh it is a secret', blocks: blocks as never } });
  expectSameShape(res, ref('views.publish.response.json'), { allowExtra: ['response_metadata'] });
  const home = slack.home(ALICE);
  expect(home?.view.type).toBe('home');
  expect(home?.versions).toHaveLength(1);
  // republishing keeps the view id and adds a version
  const again = await web.views.publish({ user_id: ALICE, view: { type: 'home', blocks: [section('second')] as never } });
  expect(again.view?.id).toBe(res.view?.id);
  expect(slack.home(ALICE)?.versions).toHaveLength(2);
  expect(slack.home('U0BOB00001')).toBeUndefined();
});

test('Slack’s errors: unknown user, not a home view, over 100 blocks, too large, stale hash', async () => {
  const bad = await slackError(web.views.publish({ user_id: 'U0NOBODY99', view: { type: 'home', blocks: [] } }));
  expectSameShape(bad, ref('views.publish.error.json'));
  expect(bad).toMatchObject({ error: 'invalid_arguments', response_metadata: { messages: ['invalid `user_id`'] } });

  expect((await slackError(web.views.publish({ user_id: ALICE, view: { type: 'modal', blocks: [] } as never }))).error).toBe('invalid_arguments');

  const many = Array.from({ length: 101 }, (_, i) => section(`row ${i}`));
  const tooMany = await slackError(web.views.publish({ user_id: ALICE, view: { type: 'home', blocks: many as never } }));
  expect(tooMany.error).toBe('invalid_arguments');
  expect(JSON.stringify(tooMany.response_metadata)).toContain('/view/blocks');
  await expect(web.views.publish({ user_id: ALICE, view: { type: 'home', blocks: many.slice(0, 100) as never } })).resolves.toMatchObject({ ok: true });

  const big = Array.from({ length: 100 }, () => ({ type: 'section', fields: Array.from({ length: 10 }, () => ({ type: 'mrkdwn', text: 'x'.repeat(1990) })) }));
  expect((await slackError(web.views.publish({ user_id: ALICE, view: { type: 'home', blocks: big as never } }))).error).toBe('view_too_large');

  expect((await slackError(web.views.publish({ user_id: ALICE, hash: '1.stale', view: { type: 'home', blocks: [] } }))).error).toBe('hash_conflict');
  const hash = slack.home(ALICE)?.view.hash as string;
  await expect(web.views.publish({ user_id: ALICE, hash, view: { type: 'home', blocks: [] } })).resolves.toMatchObject({ ok: true });
});

test('views.publish is Tier 4: 100 at once, then 429 with Retry-After', async () => {
  // the bucket refills at 100 a minute while the loop runs, so a few more than 100 may pass
  let accepted = 0;
  let limited: WebAPIRateLimitedError | undefined;
  while (accepted < 120 && !limited) {
    try {
      await web.views.publish({ user_id: ALICE, view: { type: 'home', blocks: [section(`v${accepted}`)] as never } });
      accepted++;
    } catch (e) {
      limited = e as WebAPIRateLimitedError;
    }
  }
  expect(accepted).toBeGreaterThanOrEqual(100);
  expect(accepted).toBeLessThan(110);
  expect(limited?.code).toBe(ErrorCode.RateLimitedError);
  expect(limited?.retryAfter).toBeGreaterThanOrEqual(1);
  const raw = await fetch(`${slack.apiUrl}views.publish`, { method: 'POST', headers: { authorization: `Bearer ${slack.botToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ user_id: ALICE, view: { type: 'home', blocks: [] } }) });
  expect(raw.status).toBe(429);
  expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(await raw.json()).toEqual(ref('error-ratelimited.json'));
  expect(slack.stats().ratelimited).toBeGreaterThanOrEqual(2);
});

test('app_home_opened has the Events API envelope Slack sends, with the current view once published', async () => {
  const first = slack.appHomeOpenedEvent(ALICE);
  expectSameShape(first, ref('app_home_opened.event-callback.json'));
  expect((first.event as Record<string, unknown>).tab).toBe('home');
  await web.views.publish({ user_id: ALICE, view: { type: 'home', blocks: [section('hello')] as never } });
  const later = slack.appHomeOpenedEvent(ALICE);
  expectSameShape(later.event, ref('app_home_opened.event.json'), { allowExtra: ['view.state', 'view.close', 'view.submit', 'view.previous_view_id'] });
  expect(((later.event as Record<string, unknown>).view as Record<string, unknown>).id).toBe(slack.home(ALICE)?.id);
});
