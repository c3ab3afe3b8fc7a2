/**
 * Acts as Slack towards the bot: sends signed slash commands, `block_actions` and `view_submission`
 * payloads to the bot's `/slack/events` endpoint, shaped like recorded Slack requests. With an
 * emulator attached, trigger_ids and response_urls are real ones the emulator accepts, and clicked
 * messages and submitted views are filled in from what the bot actually posted or opened.
 */
import { randomBytes } from 'node:crypto';
import type { SlackEmulator } from './index';
import { DEFAULT_BOT, DEFAULT_TEAM } from './index';
import { triggerId as randomTriggerId } from './ids';
import { signSlackRequest } from './signing';

export { signSlackRequest } from './signing';

type Json = Record<string, unknown>;

export interface SlackSigningClientOptions {
  /** The bot's events URL, e.g. `http://127.0.0.1:PORT/slack/events`. */
  botUrl: string;
  signingSecret: string;
  emulator?: SlackEmulator;
  /** Legacy verification token Slack still puts in every payload. */
  verificationToken?: string;
  /** Default channel name for payloads whose channel has no name given. */
  defaultChannelName?: string;
}

export interface SendOptions {
  /** `forged` signs with another secret; `missing` sends no X-Slack-Signature. Default `valid`. */
  signature?: 'valid' | 'forged' | 'missing';
  /** Shift the request timestamp, e.g. -360 for a 6-minute-old request (still correctly signed). */
  timestampOffsetSeconds?: number;
  /** Adds X-Slack-Retry-Num (Slack's redelivery after a slow or failed ack). */
  retryNum?: number;
  /** Adds X-Slack-Retry-Reason, e.g. `http_timeout`. */
  retryReason?: string;
  timeoutMs?: number;
}

export interface SlackDelivery {
  status: number;
  /** Parsed JSON when the bot answered JSON, else the text ('' for an empty ack). */
  body: unknown;
  headers: Record<string, string>;
  elapsedMs: number;
  /** The trigger_id and response_url sent (to follow up in assertions). */
  triggerId?: string;
  responseUrl?: string;
  /** The exact payload sent (form fields for slash commands, the JSON for interactions). */
  payload: Json;
}

export interface SlashCommandInput {
  text: string;
  userId: string;
  userName?: string;
  channelId?: string;
  channelName?: string;
  command?: string;
}

export interface BlockActionInput {
  userId: string;
  userName?: string;
  actionId: string;
  value?: string;
  blockId?: string;
  /** Element type; default: the type found in the clicked message, else `button`. */
  type?: string;
  /** For select menus: the chosen option's value (text is looked up in the message when possible). */
  selectedOption?: { value: string; text?: string };
  /** The message holding the clicked element. `ephemeral` clicks carry no `message` (as in Slack). */
  message?: { channel: string; ts: string; ephemeral?: boolean; channelName?: string };
  /** A click inside a modal instead of a message. */
  viewId?: string;
  state?: { values: Record<string, Record<string, unknown>> };
}

export interface ViewSubmissionInput {
  userId: string;
  userName?: string;
  view: {
    /** The opened view to submit; defaults to the user's latest view with this callback_id. */
    id?: string;
    callback_id: string;
    private_metadata?: string;
    state: { values: Record<string, Record<string, unknown>> };
    hash?: string;
    title?: unknown;
    blocks?: unknown[];
  };
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Find the element with this action_id in a list of blocks (sections' accessories, actions, inputs). */
function findElement(blocks: unknown, actionId: string): { blockId?: string; element: Json } | undefined {
  if (!Array.isArray(blocks)) return undefined;
  for (const b of blocks) {
    if (!isObject(b)) continue;
    const candidates: unknown[] = [b.accessory, b.element, ...(Array.isArray(b.elements) ? b.elements : [])];
    for (const el of candidates) {
      if (isObject(el) && el.action_id === actionId) return { blockId: typeof b.block_id === 'string' ? b.block_id : undefined, element: el };
    }
  }
  return undefined;
}

function actionTs(): string {
  const micros = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
}

export class SlackSigningClient {
  private readonly verificationToken: string;

  constructor(private readonly options: SlackSigningClientOptions) {
    this.verificationToken = options.verificationToken ?? randomBytes(12).toString('base64url').slice(0, 24);
  }

  private get team() {
    return this.options.emulator?.team ?? DEFAULT_TEAM;
  }

  private get bot() {
    return this.options.emulator?.bot ?? DEFAULT_BOT;
  }

  private newTrigger(userId: string): string {
    return this.options.emulator?.newTriggerId(userId) ?? randomTriggerId();
  }

  private newResponseUrl(channel: string, userId: string, messageTs?: string): string {
    const emulator = this.options.emulator;
    if (emulator) return emulator.newResponseUrl(channel, userId, { messageTs });
    return `https://hooks.slack.com/commands/${this.team.id}/${Date.now()}/${randomBytes(12).toString('base64url')}`;
  }

  private user(userId: string, userName?: string): Json {
    const name = userName ?? userId.toLowerCase();
    return { id: userId, username: name, name, team_id: this.team.id };
  }

  /** A slash command as Slack sends it: a form body with every field of a real one. */
  async slashCommand(input: SlashCommandInput, opts: SendOptions = {}): Promise<SlackDelivery> {
    const { payload: fields, triggerId, responseUrl } = this.buildSlashCommand(input);
    const body = new URLSearchParams(fields as Record<string, string>).toString();
    const res = await this.send(body, 'application/x-www-form-urlencoded', opts);
    return { ...res, triggerId, responseUrl, payload: fields };
  }

  /** The fields of a slash command (form fields over HTTP, the envelope payload in Socket Mode). */
  buildSlashCommand(input: SlashCommandInput): { payload: Json; triggerId: string; responseUrl: string } {
    const channelId = input.channelId ?? 'C0WIDREQ01';
    const triggerId = this.newTrigger(input.userId);
    const responseUrl = this.newResponseUrl(channelId, input.userId);
    const fields: Json = {
      token: this.verificationToken,
      team_id: this.team.id,
      team_domain: this.team.domain,
      channel_id: channelId,
      channel_name: input.channelName ?? this.options.defaultChannelName ?? 'wid-requests',
      user_id: input.userId,
      user_name: input.userName ?? input.userId.toLowerCase(),
      command: input.command ?? '/wid',
      text: input.text,
      api_app_id: this.bot.appId,
      is_enterprise_install: 'false',
      response_url: responseUrl,
      trigger_id: triggerId,
    };
    return { payload: fields, triggerId, responseUrl };
  }

  /** A button (or menu) click in a message the bot posted, or in a modal. */
  async blockAction(input: BlockActionInput, opts: SendOptions = {}): Promise<SlackDelivery> {
    const { payload, triggerId, responseUrl } = this.buildBlockAction(input);
    const res = await this.sendPayload(payload, opts);
    return { ...res, triggerId, responseUrl, payload };
  }

  /** The `block_actions` JSON of a click. */
  buildBlockAction(input: BlockActionInput): { payload: Json; triggerId: string; responseUrl?: string } {
    const emulator = this.options.emulator;
    const triggerId = this.newTrigger(input.userId);
    const payload: Json = {
      type: 'block_actions',
      user: this.user(input.userId, input.userName),
      api_app_id: this.bot.appId,
      token: this.verificationToken,
    };
    let blocks: unknown;
    let responseUrl: string | undefined;
    if (input.viewId) {
      const opened = emulator?.views().find((v) => v.id === input.viewId) ?? emulator?.homes().find((v) => v.id === input.viewId);
      blocks = opened?.view.blocks;
      payload.container = { type: 'view', view_id: input.viewId };
      payload.trigger_id = triggerId;
      payload.team = { id: this.team.id, domain: this.team.domain };
      payload.enterprise = null;
      payload.is_enterprise_install = false;
      payload.view = { ...(opened?.view ?? { id: input.viewId }), state: input.state ?? opened?.view.state ?? { values: {} } };
    } else if (input.message) {
      const { channel, ts } = input.message;
      const stored = input.message.ephemeral ? undefined : emulator?.message(channel, ts);
      blocks = stored?.blocks;
      const threadTs = stored?.threadTs && stored.threadTs !== stored.ts ? stored.threadTs : undefined;
      responseUrl = this.newResponseUrl(channel, input.userId, input.message.ephemeral ? undefined : ts);
      payload.container = {
        type: 'message',
        message_ts: ts,
        channel_id: channel,
        is_ephemeral: input.message.ephemeral ?? false,
        ...(threadTs ? { thread_ts: threadTs } : {}),
      };
      payload.trigger_id = triggerId;
      payload.team = { id: this.team.id, domain: this.team.domain };
      payload.enterprise = null;
      payload.is_enterprise_install = false;
      payload.channel = { id: channel, name: input.message.channelName ?? this.options.defaultChannelName ?? 'wid-requests' };
      if (!input.message.ephemeral) {
        payload.message = {
          user: stored?.user ?? this.bot.userId,
          type: 'message',
          ts,
          bot_id: stored?.botId ?? this.bot.botId,
          app_id: this.bot.appId,
          text: stored?.text ?? '',
          team: this.team.id,
          ...(threadTs ? { thread_ts: threadTs, parent_user_id: stored?.user ?? this.bot.userId } : {}),
          ...(stored?.blocks ? { blocks: stored.blocks } : {}),
        };
      }
      payload.state = input.state ?? { values: {} };
      payload.response_url = responseUrl;
    } else {
      throw new Error('blockAction needs a message or a viewId');
    }
    const found = findElement(blocks, input.actionId);
    const type = input.type ?? (typeof found?.element.type === 'string' ? found.element.type : 'button');
    const action: Json = {
      action_id: input.actionId,
      block_id: input.blockId ?? found?.blockId ?? 'block',
      type,
      action_ts: actionTs(),
    };
    if (type === 'button') {
      action.text = found?.element.text ?? { type: 'plain_text', text: input.actionId, emoji: true };
      const value = input.value ?? (typeof found?.element.value === 'string' ? found.element.value : undefined);
      if (value !== undefined) action.value = value;
      if (found?.element.style !== undefined) action.style = found.element.style;
    } else if (input.selectedOption) {
      const options = Array.isArray(found?.element.options) ? (found.element.options as unknown[]) : [];
      const option = options.find((o) => isObject(o) && o.value === input.selectedOption?.value);
      action.selected_option = isObject(option)
        ? option
        : { text: { type: 'plain_text', text: input.selectedOption.text ?? input.selectedOption.value, emoji: true }, value: input.selectedOption.value };
    } else if (input.value !== undefined) {
      action.value = input.value;
    }
    payload.actions = [action];
    return { payload, triggerId, ...(responseUrl !== undefined ? { responseUrl } : {}) };
  }

  /** An Events API delivery (`event_callback` JSON, e.g. emulator.appHomeOpenedEvent(user)), signed as Slack signs it. */
  event(envelope: Json, opts: SendOptions = {}): Promise<Omit<SlackDelivery, 'payload'>> {
    return this.send(JSON.stringify(envelope), 'application/json', opts);
  }

  /** The user opens the app's Home tab: Slack's `app_home_opened` event as the emulator builds it. */
  async openHome(userId: string, opts: SendOptions = {}): Promise<SlackDelivery> {
    const emulator = this.options.emulator;
    if (!emulator) throw new Error('openHome needs the emulator (it knows the current Home view)');
    const payload = emulator.appHomeOpenedEvent(userId);
    return { ...(await this.event(payload, opts)), payload };
  }

  /** A modal submitted by the user, shaped like Slack's `view_submission`. */
  async viewSubmission(input: ViewSubmissionInput, opts: SendOptions = {}): Promise<SlackDelivery> {
    const { payload, triggerId } = this.buildViewSubmission(input);
    const res = await this.sendPayload(payload, opts);
    return { ...res, triggerId, payload };
  }

  /** The `view_submission` JSON of a submitted modal. */
  buildViewSubmission(input: ViewSubmissionInput): { payload: Json; triggerId: string } {
    const emulator = this.options.emulator;
    const opened = emulator
      ?.views()
      .filter((v) => (input.view.id ? v.id === input.view.id : v.user === input.userId && v.view.callback_id === input.view.callback_id))
      .pop();
    const stored = opened?.view ?? {};
    const id = input.view.id ?? opened?.id ?? 'V0SUBMIT01';
    const triggerId = this.newTrigger(input.userId);
    const payload: Json = {
      type: 'view_submission',
      team: { id: this.team.id, domain: this.team.domain },
      user: this.user(input.userId, input.userName),
      api_app_id: this.bot.appId,
      token: this.verificationToken,
      trigger_id: triggerId,
      view: {
        id,
        team_id: this.team.id,
        type: 'modal',
        blocks: input.view.blocks ?? stored.blocks ?? [],
        private_metadata: input.view.private_metadata ?? stored.private_metadata ?? '',
        callback_id: input.view.callback_id,
        state: input.view.state,
        hash: input.view.hash ?? stored.hash ?? `${Math.floor(Date.now() / 1000)}.${randomBytes(6).toString('base64url').slice(0, 8)}`,
        title: input.view.title ?? stored.title ?? { type: 'plain_text', text: 'Modal', emoji: true },
        clear_on_close: stored.clear_on_close ?? false,
        notify_on_close: stored.notify_on_close ?? false,
        close: stored.close ?? null,
        submit: stored.submit ?? null,
        previous_view_id: null,
        root_view_id: stored.root_view_id ?? id,
        app_id: this.bot.appId,
        external_id: stored.external_id ?? '',
        app_installed_team_id: this.team.id,
        bot_id: this.bot.botId,
      },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    return { payload, triggerId };
  }

  /** Interactions travel as one form field `payload=<json>`. */
  sendPayload(payload: Json, opts: SendOptions = {}): Promise<Omit<SlackDelivery, 'payload'>> {
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    return this.send(body, 'application/x-www-form-urlencoded', opts);
  }

  /** Send a raw body, signed as `opts` asks. */
  async send(rawBody: string, contentType: string, opts: SendOptions = {}): Promise<Omit<SlackDelivery, 'payload'>> {
    const timestamp = String(Math.floor(Date.now() / 1000) + (opts.timestampOffsetSeconds ?? 0));
    const headers: Record<string, string> = { 'content-type': contentType, 'x-slack-request-timestamp': timestamp };
    const mode = opts.signature ?? 'valid';
    if (mode === 'valid') headers['x-slack-signature'] = signSlackRequest(this.options.signingSecret, timestamp, rawBody);
    if (mode === 'forged') headers['x-slack-signature'] = signSlackRequest(`forged-${this.options.signingSecret}`, timestamp, rawBody);
    if (opts.retryNum !== undefined) headers['x-slack-retry-num'] = String(opts.retryNum);
    if (opts.retryReason !== undefined) headers['x-slack-retry-reason'] = opts.retryReason;
    const started = performance.now();
    const res = await fetch(this.options.botUrl, {
      method: 'POST',
      headers,
      body: rawBody,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    const elapsedMs = performance.now() - started;
    let body: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = text;
      }
    }
    return { status: res.status, body, headers: Object.fromEntries(res.headers.entries()), elapsedMs };
  }
}
