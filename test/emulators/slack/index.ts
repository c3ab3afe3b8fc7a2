/**
 * Slack emulator: the Web API subset wid-bot uses, a `response_url` endpoint, Block Kit limits and
 * rate limits as Slack applies them, and every message, edit, ephemeral and modal kept in memory
 * for assertions. Plain HTTP on 127.0.0.1; point Bolt at it with
 * `clientOptions: { slackApiUrl: emulator.apiUrl }`.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { EmulatorControls, type Fault } from '../common/controls';
import { close, listen, readBody, sendJson } from '../common/http';
import { BLOCK_LIMITS, validateBlocks, validateHomeView, validateView } from './blocks';
import { blockId, compareTs, slackId, triggerId as newTriggerIdValue, TsClock, viewHash } from './ids';
import { attachSocketMode, DEFAULT_APP_TOKEN, type SlackSocketMode, type SocketModeEndpoint } from './socket-mode';

export { validateBlocks, validateHomeView, validateView, BLOCK_LIMITS } from './blocks';
export type { Surface } from './blocks';
export { signSlackRequest } from './signing';
export { DEFAULT_APP_TOKEN, SlackSocketModeClient } from './socket-mode';
export type { SlackSocketMode, SocketModeAck, SocketModeEnvelopeType, SocketModeSendOptions } from './socket-mode';

type Json = Record<string, unknown>;

export interface SlackUser {
  id: string;
  name: string;
  realName?: string;
  email?: string;
  isAdmin?: boolean;
  isOwner?: boolean;
  isBot?: boolean;
  deleted?: boolean;
  tz?: string;
}

export interface SlackChannel {
  id: string;
  name: string;
  /** The bot must be a member to post (`not_in_channel` otherwise). Default true. */
  botIsMember?: boolean;
  /** When given, only these users may receive ephemeral messages here (`user_not_in_channel`). */
  members?: string[];
}

export interface SlackUsergroup {
  /** `S…` id. */
  id: string;
  handle: string;
  users: string[];
}

/** A token bucket: `burst` calls at once, refilled at `perMinute`. */
export interface RateLimitRule {
  burst: number;
  perMinute: number;
  /** `channel`: one bucket per channel (chat.postMessage); `workspace`: one per app and workspace. */
  scope: 'channel' | 'workspace';
}

export interface SlackEmulatorOptions {
  /** The only bot token accepted (`invalid_auth` otherwise). */
  botToken?: string;
  /** The only app-level token `apps.connections.open` accepts (Socket Mode). Default: DEFAULT_APP_TOKEN. */
  appToken?: string;
  team?: { id: string; domain: string; name: string };
  bot?: { userId: string; botId: string; appId: string; name: string };
  /** The user directory (users.info, DMs, ephemeral recipients). Default: DEFAULT_USERS. */
  users?: SlackUser[];
  /** When given, only these channels (and DMs) exist; otherwise any `C…`/`G…` id is a channel the bot is in. */
  channels?: SlackChannel[];
  usergroups?: SlackUsergroup[];
  /** false switches rate limiting off; an object overrides the rule of single methods. */
  rateLimits?: false | Partial<Record<string, RateLimitRule>>;
  /** How long a trigger_id can open a modal (Slack: 3 s). */
  triggerTtlMs?: number;
  responseUrl?: { maxUses?: number; ttlMs?: number };
  /** Milliseconds since the epoch; tests move it to expire triggers and response URLs. */
  clock?: () => number;
  port?: number;
  controls?: EmulatorControls;
}

export interface MessageVersion {
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  /** When this version was written (ms). */
  at: number;
  via: Via;
}

export type Via = 'web_api' | 'response_url';

export interface StoredMessage {
  channel: string;
  ts: string;
  /** Set on replies (and on a parent once it has replies: equal to its own ts). */
  threadTs?: string;
  /** The bot user that posted it. */
  user: string;
  botId: string;
  username?: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  replyBroadcast?: boolean;
  replyCount: number;
  deleted: boolean;
  /** Every version, oldest first; the last one is current. Length > 1 means edited. */
  versions: MessageVersion[];
  via: Via;
}

export interface StoredEphemeral {
  channel: string;
  user: string;
  /** `message_ts` Slack answered with. */
  ts: string;
  threadTs?: string;
  text: string;
  blocks?: unknown[];
  via: Via;
  /** Set when a later response_url post replaced this one. */
  replaced: boolean;
}

export interface OpenedView {
  id: string;
  user: string;
  triggerId: string;
  /** The view as Slack returns it now (the latest version). */
  view: Json;
  /** Every version, oldest first. */
  versions: Json[];
}

/** A person's Home tab as views.publish last left it (Slack keeps one per user and app). */
export interface PublishedHome {
  id: string;
  user: string;
  /** The view as Slack returns it now (the latest version). */
  view: Json;
  /** Every version, oldest first. */
  versions: Json[];
  /** When each version was published (ms), same order as versions. */
  publishedAt: number[];
}

export type SlackEventKind = 'post' | 'update' | 'delete' | 'ephemeral' | 'view_open' | 'view_update' | 'home_publish';

/** One thing the bot did in Slack, in order. */
export interface SlackEmulatorEvent {
  seq: number;
  kind: SlackEventKind;
  via: Via;
  at: number;
  channel?: string;
  ts?: string;
  threadTs?: string;
  /** Recipient of an ephemeral, or the user a view was opened for. */
  user?: string;
  text?: string;
  blocks?: unknown[];
  viewId?: string;
  view?: Json;
}

export interface SlackStats {
  /** Web API calls per method (all answers). */
  calls: Record<string, number>;
  /** Calls answered 429 by the emulator's rate limiter. */
  ratelimited: number;
  /** The same, per method. */
  ratelimitedBy: Record<string, number>;
  /** Calls answered `ok: false` (including auth and Block Kit refusals, excluding injected faults). */
  refused: number;
}

export interface SlackEmulator {
  url: string;
  /** `slackApiUrl` for @slack/web-api / Bolt (ends with `/api/`). */
  apiUrl: string;
  port: number;
  botToken: string;
  team: { id: string; domain: string; name: string };
  bot: { userId: string; botId: string; appId: string; name: string };
  controls: EmulatorControls;
  /** Socket Mode: connected apps and envelope delivery (`apps.connections.open` hands out the URL). */
  socketMode: SlackSocketMode;

  /** Top-level messages of a channel (and broadcast replies), oldest first. */
  messages(channel: string): StoredMessage[];
  message(channel: string, ts: string): StoredMessage | undefined;
  /** Replies in a thread, oldest first (without the parent). */
  replies(channel: string, threadTs: string): StoredMessage[];
  ephemerals(user?: string): StoredEphemeral[];
  views(): OpenedView[];
  /** The Home tab views.publish left for this user, if any. */
  home(userId: string): PublishedHome | undefined;
  homes(): PublishedHome[];
  /**
   * The Events API envelope Slack sends when this user opens the app's Home tab (`app_home_opened`, with
   * the current view once one was published), ready for SlackSigningClient.event().
   */
  appHomeOpenedEvent(userId: string, tab?: 'home' | 'messages'): Json;
  /** Messages the bot sent to this user's DM, oldest first. */
  dms(userId: string): StoredMessage[];
  /** The stable `D…` channel id of the bot's DM with this user. */
  dmChannel(userId: string): string;

  events(): SlackEmulatorEvent[];
  /** Sequence number of the latest event; pass as `since` to waitFor to avoid missing fast events. */
  mark(): number;
  /**
   * Resolve with the first event after `since` (default: now) matching `predicate`; reject after
   * `timeoutMs` with the events seen meanwhile.
   */
  waitFor(predicate: (e: SlackEmulatorEvent) => boolean, timeoutMs?: number, opts?: { since?: number }): Promise<SlackEmulatorEvent>;
  onEvent(listener: (e: SlackEmulatorEvent) => void): () => void;

  /** A fresh trigger_id that views.open accepts once, within the trigger TTL. */
  newTriggerId(userId: string): string;
  /** A response_url for this channel and user; with `messageTs`, replace/delete_original act on that message. */
  newResponseUrl(channel: string, user: string, opts?: { messageTs?: string }): string;

  addUser(user: SlackUser): void;
  addChannel(channel: SlackChannel): void;
  addUsergroup(group: SlackUsergroup): void;
  setRateLimiting(enabled: boolean): void;
  stats(): SlackStats;
  /** Forget messages, ephemerals, views, events, triggers, response URLs and rate buckets. */
  clear(): void;
  close(): Promise<void>;
}

export const DEFAULT_TEAM = { id: 'T0WIDBOT01', domain: 'wid-bot-test', name: 'wid-bot test workspace' };
export const DEFAULT_BOT = { userId: 'U0WIDBOT01', botId: 'B0WIDBOT01', appId: 'A0WIDBOT01', name: 'wid-bot' };
export const DEFAULT_BOT_TOKEN = 'xoxb-1000000001-2000000002-widbottesttoken';
export const DEFAULT_USERS: SlackUser[] = [
  { id: 'U0ALICE001', name: 'alice', realName: 'Alice Developer', email: 'alice@example.com' },
  { id: 'U0BOB00001', name: 'bob', realName: 'Bob Approver', email: 'bob@example.com' },
  { id: 'U0CAROL001', name: 'carol', realName: 'Carol Admin', email: 'carol@example.com', isAdmin: true },
];

/** Slack's published tiers for these methods; chat.postMessage is its "1 per second per channel" special tier. */
export const DEFAULT_RATE_LIMITS: Record<string, RateLimitRule> = {
  'chat.postMessage': { burst: 3, perMinute: 60, scope: 'channel' },
  'chat.update': { burst: 50, perMinute: 50, scope: 'workspace' },
  'chat.postEphemeral': { burst: 100, perMinute: 100, scope: 'workspace' },
  'views.open': { burst: 100, perMinute: 100, scope: 'workspace' },
  'views.update': { burst: 100, perMinute: 100, scope: 'workspace' },
  'users.info': { burst: 100, perMinute: 100, scope: 'workspace' },
  'conversations.open': { burst: 50, perMinute: 50, scope: 'workspace' },
  'usergroups.users.list': { burst: 20, perMinute: 20, scope: 'workspace' },
  'auth.test': { burst: 100, perMinute: 100, scope: 'workspace' },
  // Tier 4 ("100+ per minute", bursts tolerated): https://api.slack.com/methods/views.publish
  'views.publish': { burst: 100, perMinute: 100, scope: 'workspace' },
};

/** Answer of a Web API method: a body for HTTP 200, or a status/headers override. */
interface Answer {
  status?: number;
  body: Json;
  headers?: Record<string, string>;
}

class SlackError extends Error {
  constructor(
    readonly code: string,
    readonly extra: Json = {},
  ) {
    super(code);
  }
}

interface Trigger {
  user: string;
  createdAt: number;
  used: boolean;
}

interface ResponseUrlRecord {
  channel: string;
  user: string;
  messageTs?: string;
  createdAt: number;
  uses: number;
  /** The ephemeral this URL posted last (slash-command replace_original replaces it). */
  lastEphemeral?: StoredEphemeral;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function bool(v: unknown): boolean {
  return v === true || v === 'true' || v === '1' || v === 1;
}

/** Slack takes structured arguments either as JSON values or as JSON-encoded form fields. */
function structured(v: unknown, onBadJson: string): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    throw new SlackError(onBadJson);
  }
}

/** Slack stores blocks with a block_id filled in where the app sent none. */
function withBlockIds(blocks: unknown[] | undefined): unknown[] | undefined {
  if (!blocks) return undefined;
  return blocks.map((b) => (typeof b === 'object' && b !== null && !('block_id' in b) ? { ...b, block_id: blockId() } : b));
}

function blockErrors(errors: string[], code: string): SlackError {
  return new SlackError(code, { errors, response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) } });
}

export async function startSlackEmulator(options: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
  const now = options.clock ?? Date.now;
  const botToken = options.botToken ?? DEFAULT_BOT_TOKEN;
  const team = options.team ?? DEFAULT_TEAM;
  const bot = options.bot ?? DEFAULT_BOT;
  const controls = options.controls ?? new EmulatorControls();
  const triggerTtlMs = options.triggerTtlMs ?? 3000;
  const responseMaxUses = options.responseUrl?.maxUses ?? 5;
  const responseTtlMs = options.responseUrl?.ttlMs ?? 30 * 60 * 1000;
  const rateRules: Record<string, RateLimitRule> = { ...DEFAULT_RATE_LIMITS };
  if (options.rateLimits) {
    for (const [method, rule] of Object.entries(options.rateLimits)) if (rule) rateRules[method] = rule;
  }
  let rateLimiting = options.rateLimits !== false;

  const users = new Map<string, SlackUser>((options.users ?? DEFAULT_USERS).map((u) => [u.id, u]));
  // The bot is a member of its own workspace: users.info on it answers like on anyone else.
  if (!users.has(bot.userId)) users.set(bot.userId, { id: bot.userId, name: bot.name, isBot: true });
  const channelsStrict = options.channels !== undefined;
  const channels = new Map<string, SlackChannel>((options.channels ?? []).map((c) => [c.id, c]));
  const usergroups = new Map<string, SlackUsergroup>((options.usergroups ?? []).map((g) => [g.id, g]));
  const dmByUser = new Map<string, string>();
  const mpims = new Map<string, string>();

  const tsClock = new TsClock(now);
  // Messages by channel, in posting order (replies included; the query helpers filter).
  let messagesByChannel = new Map<string, StoredMessage[]>();
  let ephemerals: StoredEphemeral[] = [];
  let views = new Map<string, OpenedView>();
  let homes = new Map<string, PublishedHome>();
  let eventSeq = 0;
  let triggers = new Map<string, Trigger>();
  let responseUrls = new Map<string, ResponseUrlRecord>();
  let buckets = new Map<string, Bucket>();
  let events: SlackEmulatorEvent[] = [];
  let seq = 0;
  let stats: SlackStats = { calls: {}, ratelimited: 0, ratelimitedBy: {}, refused: 0 };
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);

  function emit(e: Omit<SlackEmulatorEvent, 'seq' | 'at'>): void {
    seq += 1;
    const event: SlackEmulatorEvent = { ...clone(e), seq, at: now() };
    events.push(event);
    emitter.emit('event', event);
  }

  function dmChannel(userId: string): string {
    let id = dmByUser.get(userId);
    if (!id) {
      id = `D0${String(dmByUser.size + 1).padStart(8, '0')}`;
      dmByUser.set(userId, id);
    }
    return id;
  }

  function isDm(channel: string): boolean {
    return [...dmByUser.values()].includes(channel) || [...mpims.values()].includes(channel);
  }

  /** Resolve a channel argument (id, `#name`, or a user id meaning the DM) or throw channel_not_found. */
  function resolveChannel(arg: string | undefined, forPosting: boolean): string {
    if (!arg) throw new SlackError('channel_not_found');
    if (/^[UW][A-Z0-9]+$/.test(arg)) {
      if (!users.has(arg)) throw new SlackError('channel_not_found');
      return dmChannel(arg);
    }
    if (isDm(arg)) return arg;
    const name = arg.replace(/^#/, '');
    const byName = [...channels.values()].find((c) => c.name === name);
    const channel = channels.get(arg) ?? byName;
    if (channel) {
      if (forPosting && channel.botIsMember === false) throw new SlackError('not_in_channel');
      return channel.id;
    }
    if (!channelsStrict && /^[CG][A-Z0-9]{2,}$/.test(arg)) return arg;
    throw new SlackError('channel_not_found');
  }

  function channelMessages(channel: string): StoredMessage[] {
    let list = messagesByChannel.get(channel);
    if (!list) {
      list = [];
      messagesByChannel.set(channel, list);
    }
    return list;
  }

  function findMessage(channel: string, ts: string): StoredMessage | undefined {
    return messagesByChannel.get(channel)?.find((m) => m.ts === ts && !m.deleted);
  }

  /** Text, blocks and attachments of a message-like request, validated as Slack does. */
  function content(args: Json, requireSomething: boolean): { text?: string; blocks?: unknown[]; attachments?: unknown[] } {
    const text = str(args.text);
    const blocksArg = args.blocks === undefined || args.blocks === '' ? undefined : structured(args.blocks, 'invalid_blocks_format');
    const attachmentsArg =
      args.attachments === undefined || args.attachments === '' ? undefined : structured(args.attachments, 'invalid_attachments');
    if (blocksArg !== undefined && !Array.isArray(blocksArg)) throw new SlackError('invalid_blocks_format');
    if (attachmentsArg !== undefined && !Array.isArray(attachmentsArg)) throw new SlackError('invalid_attachments');
    if (text !== undefined && text.length > BLOCK_LIMITS.messageText) throw new SlackError('msg_too_long');
    if (blocksArg) {
      const errors = validateBlocks(blocksArg, 'message');
      if (errors.length > 0) throw blockErrors(errors, 'invalid_blocks');
    }
    if (attachmentsArg && attachmentsArg.length > 100) throw new SlackError('too_many_attachments');
    if (requireSomething && !text && !(blocksArg && blocksArg.length) && !(attachmentsArg && attachmentsArg.length)) {
      throw new SlackError('no_text');
    }
    const attachments = attachmentsArg?.map((a, i) => (typeof a === 'object' && a !== null ? { id: i + 1, ...(a as Json) } : a));
    return { text, blocks: withBlockIds(blocksArg), attachments };
  }

  function messageJson(m: StoredMessage): Json {
    return {
      ...(m.username ? { subtype: 'bot_message', username: m.username } : { user: m.user }),
      type: 'message',
      ts: m.ts,
      bot_id: m.botId,
      text: m.text,
      ...(m.attachments ? { attachments: m.attachments } : {}),
      ...(m.blocks ? { blocks: m.blocks } : {}),
      ...(m.threadTs && m.threadTs !== m.ts ? { thread_ts: m.threadTs, parent_user_id: m.user } : {}),
    };
  }

  function postMessage(
    channel: string,
    c: { text?: string; blocks?: unknown[]; attachments?: unknown[] },
    extra: { threadTs?: string; username?: string; replyBroadcast?: boolean; via: Via },
  ): StoredMessage {
    const list = channelMessages(channel);
    const ts = tsClock.next();
    let threadTs = extra.threadTs;
    if (threadTs) {
      // A reply to a reply joins the parent's thread, as in Slack.
      const parent = list.find((m) => m.ts === threadTs);
      if (parent?.threadTs && parent.threadTs !== parent.ts) threadTs = parent.threadTs;
      const root = list.find((m) => m.ts === threadTs);
      if (root) {
        root.threadTs = root.ts;
        root.replyCount += 1;
      }
    }
    const at = now();
    const m: StoredMessage = {
      channel,
      ts,
      threadTs,
      user: bot.userId,
      botId: bot.botId,
      username: extra.username,
      text: c.text ?? '',
      blocks: c.blocks,
      attachments: c.attachments,
      replyBroadcast: extra.replyBroadcast || undefined,
      replyCount: 0,
      deleted: false,
      versions: [{ text: c.text ?? '', blocks: c.blocks, attachments: c.attachments, at, via: extra.via }],
      via: extra.via,
    };
    list.push(m);
    emit({ kind: 'post', via: extra.via, channel, ts, threadTs, text: m.text, blocks: m.blocks });
    return m;
  }

  function updateMessage(m: StoredMessage, c: { text?: string; blocks?: unknown[]; attachments?: unknown[] }, via: Via): void {
    // Omitted fields keep their previous value; an empty array removes blocks/attachments (Slack's rule).
    if (c.text !== undefined) m.text = c.text;
    if (c.blocks !== undefined) m.blocks = c.blocks.length ? c.blocks : undefined;
    if (c.attachments !== undefined) m.attachments = c.attachments.length ? c.attachments : undefined;
    m.versions.push({ text: m.text, blocks: m.blocks, attachments: m.attachments, at: now(), via });
    emit({ kind: 'update', via, channel: m.channel, ts: m.ts, threadTs: m.threadTs, text: m.text, blocks: m.blocks });
  }

  function postEphemeral(
    channel: string,
    user: string,
    c: { text?: string; blocks?: unknown[] },
    via: Via,
    threadTs?: string,
  ): StoredEphemeral {
    const e: StoredEphemeral = { channel, user, ts: tsClock.next(), threadTs, text: c.text ?? '', blocks: c.blocks, via, replaced: false };
    ephemerals.push(e);
    emit({ kind: 'ephemeral', via, channel, ts: e.ts, threadTs, user, text: e.text, blocks: e.blocks });
    return e;
  }

  function viewJson(id: string, rootId: string, input: Json, previous?: Json): Json {
    return {
      id,
      team_id: team.id,
      type: 'modal',
      blocks: withBlockIds(input.blocks as unknown[]),
      private_metadata: str(input.private_metadata) ?? '',
      callback_id: str(input.callback_id) ?? '',
      state: previous?.state ?? { values: {} },
      hash: viewHash(now()),
      title: input.title,
      clear_on_close: bool(input.clear_on_close),
      notify_on_close: bool(input.notify_on_close),
      ...(input.close !== undefined ? { close: input.close } : {}),
      ...(input.submit !== undefined ? { submit: input.submit } : {}),
      root_view_id: rootId,
      app_id: bot.appId,
      external_id: str(input.external_id) ?? '',
      bot_id: bot.botId,
    };
  }

  function parseView(args: Json): Json {
    if (args.view === undefined || args.view === '') {
      throw new SlackError('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: view'] } });
    }
    const view = structured(args.view, 'invalid_arguments');
    const errors = validateView(view);
    if (errors.length > 0) throw blockErrors(errors, 'invalid_arguments');
    return view as Json;
  }

  const methods: Record<string, (args: Json) => Json> = {
    'auth.test': () => ({
      ok: true,
      url: `https://${team.domain}.slack.com/`,
      team: team.name,
      user: bot.name,
      team_id: team.id,
      user_id: bot.userId,
      bot_id: bot.botId,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (args) => {
      const channel = resolveChannel(str(args.channel), true);
      const c = content(args, true);
      const m = postMessage(channel, c, {
        threadTs: str(args.thread_ts) || undefined,
        username: str(args.username) || undefined,
        replyBroadcast: bool(args.reply_broadcast),
        via: 'web_api',
      });
      return { ok: true, channel, ts: m.ts, message: messageJson(m) };
    },

    'chat.update': (args) => {
      const channel = resolveChannel(str(args.channel), false);
      const ts = str(args.ts);
      if (!ts) throw new SlackError('message_not_found');
      const m = findMessage(channel, ts);
      if (!m) throw new SlackError('message_not_found');
      const c = content(args, false);
      if (c.text === undefined && c.blocks === undefined && c.attachments === undefined) throw new SlackError('no_text');
      updateMessage(m, c, 'web_api');
      return {
        ok: true,
        channel,
        ts: m.ts,
        text: m.text,
        message: { text: m.text, user: m.user, ...(m.blocks ? { blocks: m.blocks } : {}) },
      };
    },

    'chat.postEphemeral': (args) => {
      const channel = resolveChannel(str(args.channel), true);
      const user = str(args.user);
      const known = user ? users.get(user) : undefined;
      const member = channels.get(channel)?.members;
      if (!user || !known || known.deleted || (member && !member.includes(user))) throw new SlackError('user_not_in_channel');
      const c = content(args, true);
      const e = postEphemeral(channel, user, c, 'web_api', str(args.thread_ts) || undefined);
      return { ok: true, message_ts: e.ts };
    },

    'views.open': (args) => {
      const view = parseView(args);
      const tid = str(args.trigger_id);
      if (!tid) {
        throw new SlackError('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: trigger_id'] } });
      }
      const trigger = triggers.get(tid);
      if (!trigger) throw new SlackError('invalid_trigger_id', { response_metadata: { messages: ['invalid `trigger_id`'] } });
      if (trigger.used) throw new SlackError('exchanged_trigger_id');
      if (now() - trigger.createdAt > triggerTtlMs) throw new SlackError('expired_trigger_id');
      if (view.external_id && [...views.values()].some((v) => v.view.external_id === view.external_id)) {
        throw new SlackError('duplicate_external_id');
      }
      trigger.used = true;
      const id = slackId('V');
      const json = viewJson(id, id, view);
      views.set(id, { id, user: trigger.user, triggerId: tid, view: json, versions: [clone(json)] });
      emit({ kind: 'view_open', via: 'web_api', user: trigger.user, viewId: id, view: json });
      return { ok: true, view: json };
    },

    'views.update': (args) => {
      const viewId = str(args.view_id);
      const externalId = str(args.external_id);
      if (!viewId && !externalId) {
        throw new SlackError('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: view_id'] } });
      }
      const input = parseView(args);
      const opened = viewId ? views.get(viewId) : [...views.values()].find((v) => v.view.external_id === externalId);
      if (!opened) throw new SlackError('not_found');
      const hash = str(args.hash);
      if (hash && hash !== opened.view.hash) throw new SlackError('hash_conflict');
      const json = viewJson(opened.id, str(opened.view.root_view_id) ?? opened.id, input, opened.view);
      opened.view = json;
      opened.versions.push(clone(json));
      emit({ kind: 'view_update', via: 'web_api', user: opened.user, viewId: opened.id, view: json });
      return { ok: true, view: json };
    },

    'views.publish': (args) => {
      const userId = str(args.user_id);
      const u = userId ? users.get(userId) : undefined;
      if (!userId || !u || u.deleted || u.isBot) {
        throw new SlackError('invalid_arguments', { response_metadata: { messages: ['invalid `user_id`'] } });
      }
      if (args.view === undefined || args.view === '') {
        throw new SlackError('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: view'] } });
      }
      const view = structured(args.view, 'invalid_arguments');
      if (Buffer.byteLength(JSON.stringify(view)) > BLOCK_LIMITS.viewBytes) throw new SlackError('view_too_large');
      const errors = validateHomeView(view);
      if (errors.length > 0) throw blockErrors(errors, 'invalid_arguments');
      const input = view as Json;
      const existing = homes.get(userId);
      const hash = str(args.hash);
      if (hash && existing && hash !== existing.view.hash) throw new SlackError('hash_conflict');
      const externalId = str(input.external_id);
      if (externalId && [...homes.values()].some((h) => h.user !== userId && h.view.external_id === externalId)) throw new SlackError('duplicate_external_id');
      const id = existing?.id ?? slackId('V');
      const json: Json = {
        id,
        team_id: team.id,
        type: 'home',
        close: null,
        submit: null,
        blocks: withBlockIds(input.blocks as unknown[]),
        private_metadata: str(input.private_metadata) ?? '',
        callback_id: str(input.callback_id) ?? '',
        state: { values: {} },
        hash: viewHash(now()),
        clear_on_close: false,
        notify_on_close: false,
        root_view_id: id,
        previous_view_id: null,
        app_id: bot.appId,
        external_id: externalId ?? '',
        bot_id: bot.botId,
      };
      const home = existing ?? { id, user: userId, view: json, versions: [], publishedAt: [] };
      home.view = json;
      home.versions.push(clone(json));
      home.publishedAt.push(now());
      homes.set(userId, home);
      emit({ kind: 'home_publish', via: 'web_api', user: userId, viewId: id, view: json });
      return { ok: true, view: json };
    },

    'users.info': (args) => {
      const id = str(args.user);
      const u = id ? users.get(id) : undefined;
      if (!u) throw new SlackError('user_not_found');
      return { ok: true, user: userJson(u, team.id) };
    },

    'conversations.open': (args) => {
      const channelArg = str(args.channel);
      if (channelArg) {
        if (!isDm(channelArg)) throw new SlackError('channel_not_found');
        return { ok: true, channel: { id: channelArg } };
      }
      const ids = (str(args.users) ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (ids.length === 0) throw new SlackError('users_list_not_supplied');
      if (ids.length > 8) throw new SlackError('too_many_users');
      for (const id of ids) if (!users.has(id)) throw new SlackError('user_not_found');
      const first = ids[0];
      if (ids.length === 1 && first) return { ok: true, channel: { id: dmChannel(first) } };
      const key = [...new Set(ids)].sort().join(',');
      let id = mpims.get(key);
      if (!id) {
        id = `G0${String(mpims.size + 1).padStart(8, '0')}`;
        mpims.set(key, id);
      }
      return { ok: true, channel: { id } };
    },

    'usergroups.users.list': (args) => {
      const id = str(args.usergroup);
      const g = id ? usergroups.get(id) : undefined;
      if (!g) throw new SlackError('no_such_subteam');
      return { ok: true, users: [...g.users] };
    },
  };

  function rateLimited(method: string, args: Json): number | undefined {
    if (!rateLimiting) return undefined;
    const rule = rateRules[method];
    if (!rule) return undefined;
    let key = method;
    if (rule.scope === 'channel') {
      // Buckets follow the channel the message lands in, so a user id and its DM share one.
      let channel = str(args.channel) ?? '';
      try {
        channel = resolveChannel(channel, false);
      } catch {
        // Unknown channels are refused later by the method itself.
      }
      key = `${method}:${channel}`;
    }
    const t = now();
    const perMs = rule.perMinute / 60000;
    const b = buckets.get(key) ?? { tokens: rule.burst, updatedAt: t };
    b.tokens = Math.min(rule.burst, b.tokens + (t - b.updatedAt) * perMs);
    b.updatedAt = t;
    buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
  }

  function tokenOf(req: IncomingMessage, args: Json): string | undefined {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
    return str(args.token);
  }

  function faultAnswer(fault: Fault): Answer {
    const headers: Record<string, string> = {};
    if (fault.retryAfterSeconds !== undefined || fault.status === 429) headers['retry-after'] = String(fault.retryAfterSeconds ?? 1);
    return { status: fault.status, body: { ok: false, error: fault.code }, headers };
  }

  function parseArgs(req: IncomingMessage, raw: Buffer, query: URLSearchParams): Json {
    const args: Json = Object.fromEntries(query.entries());
    if (raw.length === 0) return args;
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (type.includes('application/json')) {
      const parsed = JSON.parse(raw.toString('utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SlackError('invalid_json');
      return { ...args, ...(parsed as Json) };
    }
    return { ...args, ...Object.fromEntries(new URLSearchParams(raw.toString('utf8')).entries()) };
  }

  async function handleApi(req: IncomingMessage, method: string, query: URLSearchParams): Promise<Answer> {
    const raw = await readBody(req);
    let args: Json;
    try {
      args = parseArgs(req, raw, query);
    } catch {
      args = {};
    }
    const fault = await controls.intercept({
      method: req.method ?? 'POST',
      path: `/api/${method}`,
      query: Object.fromEntries(query.entries()),
      body: args,
      headers: req.headers,
    });
    stats.calls[method] = (stats.calls[method] ?? 0) + 1;
    if (fault) return faultAnswer(fault);
    // The one method that takes the app-level token instead of the bot token.
    if (method === 'apps.connections.open') return { body: socket.open(req.headers.authorization) };
    if (raw.length > 0 && Object.keys(args).length === 0 && (req.headers['content-type'] ?? '').includes('json')) {
      return { body: { ok: false, error: 'invalid_json' } };
    }
    const handler = methods[method];
    if (!handler) return { body: { ok: false, error: 'unknown_method', req_method: method } };
    const token = tokenOf(req, args);
    if (!token) return { body: { ok: false, error: 'not_authed' } };
    if (token !== botToken) return { body: { ok: false, error: 'invalid_auth' } };
    const retryAfter = rateLimited(method, args);
    if (retryAfter !== undefined) {
      stats.ratelimited += 1;
      stats.ratelimitedBy[method] = (stats.ratelimitedBy[method] ?? 0) + 1;
      return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(retryAfter) } };
    }
    try {
      return { body: handler(args) };
    } catch (e) {
      if (e instanceof SlackError) return { body: { ok: false, error: e.code, ...e.extra } };
      throw e;
    }
  }

  async function handleResponseUrl(req: IncomingMessage, id: string): Promise<Answer> {
    const raw = await readBody(req);
    let body: Json = {};
    let malformed = false;
    try {
      const text = raw.toString('utf8');
      const type = (req.headers['content-type'] ?? '').toLowerCase();
      const parsed: unknown = type.includes('application/x-www-form-urlencoded')
        ? JSON.parse(new URLSearchParams(text).get('payload') ?? '{}')
        : JSON.parse(text || '{}');
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Json;
      else malformed = true;
    } catch {
      malformed = true;
    }
    const fault = await controls.intercept({ method: req.method ?? 'POST', path: `/response/${id}`, query: {}, body, headers: req.headers });
    if (fault) return faultAnswer(fault);
    if (malformed) return { status: 400, body: { ok: false, error: 'invalid_payload' } };
    const record = responseUrls.get(id);
    if (!record) return { status: 404, body: { ok: false, error: 'invalid_url' } };
    if (now() - record.createdAt > responseTtlMs) return { status: 404, body: { ok: false, error: 'expired_url' } };
    if (record.uses >= responseMaxUses) return { status: 404, body: { ok: false, error: 'used_url' } };
    try {
      respond(record, body);
    } catch (e) {
      if (e instanceof SlackError) return { status: 400, body: { ok: false, error: e.code, ...e.extra } };
      throw e;
    }
    record.uses += 1;
    return { body: { ok: true } };
  }

  function respond(record: ResponseUrlRecord, body: Json): void {
    const original = record.messageTs ? findMessage(record.channel, record.messageTs) : undefined;
    if (bool(body.delete_original)) {
      if (original) {
        original.deleted = true;
        emit({ kind: 'delete', via: 'response_url', channel: original.channel, ts: original.ts, threadTs: original.threadTs });
      } else if (record.lastEphemeral) {
        record.lastEphemeral.replaced = true;
      }
      return;
    }
    const c = content(body, true);
    const threadTs = str(body.thread_ts) || undefined;
    if (bool(body.replace_original) && original) {
      updateMessage(original, c, 'response_url');
      return;
    }
    if (body.response_type === 'in_channel') {
      postMessage(record.channel, c, { threadTs, via: 'response_url' });
      return;
    }
    if (bool(body.replace_original) && record.lastEphemeral) record.lastEphemeral.replaced = true;
    record.lastEphemeral = postEphemeral(record.channel, record.user, c, 'response_url', threadTs);
  }

  function stateJson(): Json {
    return {
      messages: Object.fromEntries(messagesByChannel),
      ephemerals,
      views: [...views.values()],
      homes: [...homes.values()],
      stats,
    };
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const api = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    let answer: Answer;
    if (api?.[1] && (req.method === 'POST' || req.method === 'GET')) {
      answer = await handleApi(req, api[1], url.searchParams);
      if (answer.body.ok === false && answer.status === undefined) stats.refused += 1;
    } else if (req.method === 'POST' && url.pathname.startsWith('/response/')) {
      answer = await handleResponseUrl(req, url.pathname.slice('/response/'.length));
    } else if (req.method === 'GET' && url.pathname === '/_emulator/state') {
      answer = { body: stateJson() };
    } else {
      answer = { status: 404, body: { ok: false, error: 'not_found' } };
    }
    sendJson(res, answer.status ?? 200, answer.body, answer.headers);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'internal_error', detail: String(e) });
      else res.destroy();
    });
  });
  const port = await listen(server, options.port ?? 0);
  const url = `http://127.0.0.1:${port}`;
  const socket: SocketModeEndpoint = attachSocketMode(server, { baseUrl: url, appToken: options.appToken ?? DEFAULT_APP_TOKEN, appId: bot.appId });

  const topLevel = (m: StoredMessage) => !m.deleted && (!m.threadTs || m.threadTs === m.ts || m.replyBroadcast === true);

  return {
    url,
    apiUrl: `${url}/api/`,
    port,
    botToken,
    team,
    bot,
    controls,
    socketMode: socket.socketMode,
    messages: (channel) => clone((messagesByChannel.get(channel) ?? []).filter(topLevel)),
    message: (channel, ts) => {
      const m = messagesByChannel.get(channel)?.find((x) => x.ts === ts);
      return m ? clone(m) : undefined;
    },
    replies: (channel, threadTs) =>
      clone(
        (messagesByChannel.get(channel) ?? [])
          .filter((m) => !m.deleted && m.threadTs === threadTs && m.ts !== threadTs)
          .sort((a, b) => compareTs(a.ts, b.ts)),
      ),
    ephemerals: (user) => clone(ephemerals.filter((e) => user === undefined || e.user === user)),
    views: () => clone([...views.values()]),
    home: (userId) => {
      const h = homes.get(userId);
      return h ? clone(h) : undefined;
    },
    homes: () => clone([...homes.values()]),
    appHomeOpenedEvent: (userId, tab = 'home') => {
      eventSeq += 1;
      const t = now();
      const current = homes.get(userId);
      return {
        token: 'verification-token',
        team_id: team.id,
        api_app_id: bot.appId,
        event: {
          type: 'app_home_opened',
          user: userId,
          channel: dmChannel(userId),
          tab,
          event_ts: `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}${String(eventSeq % 1000).padStart(3, '0')}`,
          ...(tab === 'home' && current ? { view: { ...clone(current.view), app_installed_team_id: team.id } } : {}),
        },
        type: 'event_callback',
        event_id: `Ev${slackId('', 10)}`,
        event_time: Math.floor(t / 1000),
        authorizations: [{ enterprise_id: null, team_id: team.id, user_id: bot.userId, is_bot: true, is_enterprise_install: false }],
        is_ext_shared_channel: false,
      };
    },
    dms: (userId) => {
      const id = dmByUser.get(userId);
      return id ? clone((messagesByChannel.get(id) ?? []).filter((m) => !m.deleted)) : [];
    },
    dmChannel,
    events: () => clone(events),
    mark: () => seq,
    waitFor: (predicate, timeoutMs = 5000, opts = {}) => {
      const since = opts.since ?? seq;
      const earlier = events.find((e) => e.seq > since && predicate(e));
      if (earlier) return Promise.resolve(clone(earlier));
      return new Promise((resolve, reject) => {
        const listener = (e: SlackEmulatorEvent) => {
          if (e.seq > since && predicate(e)) {
            clearTimeout(timer);
            emitter.off('event', listener);
            resolve(clone(e));
          }
        };
        const timer = setTimeout(() => {
          emitter.off('event', listener);
          const seen = events.filter((e) => e.seq > since).map((e) => `${e.kind} ${e.channel ?? e.viewId ?? ''} ${JSON.stringify(e.text ?? '')}`);
          reject(new Error(`no matching Slack event within ${timeoutMs} ms; seen since: ${seen.length ? seen.join(' | ') : 'nothing'}`));
        }, timeoutMs);
        emitter.on('event', listener);
      });
    },
    onEvent: (listener) => {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
    newTriggerId: (userId) => {
      const id = newTriggerIdValue();
      triggers.set(id, { user: userId, createdAt: now(), used: false });
      return id;
    },
    newResponseUrl: (channel, user, opts = {}) => {
      const id = `${team.id}/${Math.floor(Math.random() * 1e13)}/${slackId('', 24)}`;
      responseUrls.set(id, { channel, user, messageTs: opts.messageTs, createdAt: now(), uses: 0 });
      return `${url}/response/${id}`;
    },
    addUser: (u) => void users.set(u.id, u),
    addChannel: (c) => void channels.set(c.id, c),
    addUsergroup: (g) => void usergroups.set(g.id, g),
    setRateLimiting: (enabled) => {
      rateLimiting = enabled;
    },
    stats: () => clone(stats),
    clear: () => {
      messagesByChannel = new Map();
      ephemerals = [];
      views = new Map();
      homes = new Map();
      triggers = new Map();
      responseUrls = new Map();
      buckets = new Map();
      events = [];
      stats = { calls: {}, ratelimited: 0, ratelimitedBy: {}, refused: 0 };
    },
    close: async () => {
      await socket.close();
      await close(server);
    },
  };
}

/** A users.info `user` object shaped like Slack's. */
function userJson(u: SlackUser, teamId: string): Json {
  const realName = u.realName ?? u.name;
  const image = `https://avatars.example.com/${u.id}.png`;
  return {
    id: u.id,
    team_id: teamId,
    name: u.name,
    deleted: u.deleted ?? false,
    color: '9f69e7',
    real_name: realName,
    tz: u.tz ?? 'Europe/Berlin',
    tz_label: 'Central European Time',
    tz_offset: 3600,
    profile: {
      avatar_hash: 'g' + u.id.toLowerCase().slice(0, 11),
      status_text: '',
      status_emoji: '',
      real_name: realName,
      display_name: u.name,
      real_name_normalized: realName,
      display_name_normalized: u.name,
      email: u.email ?? `${u.name}@example.com`,
      image_original: image,
      image_24: image,
      image_32: image,
      image_48: image,
      image_72: image,
      image_192: image,
      image_512: image,
      team: teamId,
    },
    is_admin: u.isAdmin ?? false,
    is_owner: u.isOwner ?? false,
    is_primary_owner: false,
    is_restricted: false,
    is_ultra_restricted: false,
    is_bot: u.isBot ?? false,
    is_app_user: false,
    updated: 1700000000,
    has_2fa: false,
  };
}
