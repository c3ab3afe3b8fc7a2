/**
 * Socket Mode for the Slack emulator: `apps.connections.open` with the app-level token hands out a
 * one-time WebSocket URL on the emulator's own HTTP server; the connected app gets Slack's `hello`
 * and then envelopes (`slash_commands`, `interactive`, `events_api`) that it must ack by envelope_id.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { SlackSigningClient, type BlockActionInput, type SlashCommandInput, type ViewSubmissionInput } from './client';
import type { SlackEmulator } from './index';

type Json = Record<string, unknown>;

export const DEFAULT_APP_TOKEN = 'xapp-1-A0WIDBOT01-1-widbottestapptoken';

export type SocketModeEnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface SocketModeSendOptions {
  /** Reject when no ack arrives within this time (Slack gives up after 3 s). Default 3000. */
  timeoutMs?: number;
  /** Redelivery count and reason, as Slack sets them when it retries an unacked envelope. */
  retryAttempt?: number;
  retryReason?: string;
  /** Default: true for slash commands and view submissions, false otherwise (as Slack sends them). */
  acceptsResponsePayload?: boolean;
}

export interface SocketModeAck {
  acked: boolean;
  /** The `payload` the app sent with its ack (e.g. a slash command's immediate reply), if any. */
  ackPayload?: unknown;
  elapsedMs: number;
  envelopeId: string;
}

export interface SlackSocketMode {
  appToken: string;
  /** Open WebSocket connections that have been sent `hello`. */
  connections(): number;
  /** Connections accepted since the emulator started (a reconnect adds one). */
  accepted(): number;
  /** Resolve once at least one app is connected; reject after `timeoutMs`. */
  waitForConnection(timeoutMs?: number): Promise<void>;
  /** Deliver an envelope to a connected app; resolve with its ack, reject when none comes in time. */
  send(type: SocketModeEnvelopeType, payload: Json, opts?: SocketModeSendOptions): Promise<SocketModeAck>;
  /** Every message an app sent over its socket, oldest first (acks included). */
  received(): Json[];
  /** Send Slack's `disconnect` message to every connection (the app is expected to reconnect). */
  disconnectAll(reason?: string): void;
}

interface PendingAck {
  resolve: (ack: SocketModeAck) => void;
  started: number;
}

export interface SocketModeEndpoint {
  socketMode: SlackSocketMode;
  /** Body of `apps.connections.open` for this Authorization header. */
  open(authorization: string | undefined): Json;
  close(): Promise<void>;
}

/** Serve Socket Mode on `server` (WebSocket upgrades at `/socket?ticket=…`). */
export function attachSocketMode(server: Server, opts: { baseUrl: string; appToken: string; appId: string }): SocketModeEndpoint {
  const wss = new WebSocketServer({ noServer: true });
  const tickets = new Set<string>();
  const sockets = new Set<WebSocket>();
  const pending = new Map<string, PendingAck>();
  const received: Json[] = [];
  const waiters = new Set<() => void>();
  let accepted = 0;
  // Slack pings every few seconds; the client drops a connection that stays silent for 30 s.
  const pinger = setInterval(() => {
    for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.ping();
  }, 5000);
  pinger.unref();

  function onMessage(data: RawData): void {
    let msg: unknown;
    try {
      msg = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return;
    const json = msg as Json;
    received.push(json);
    const id = typeof json.envelope_id === 'string' ? json.envelope_id : undefined;
    const waiting = id ? pending.get(id) : undefined;
    if (!id || !waiting) return;
    pending.delete(id);
    waiting.resolve({ acked: true, ackPayload: json.payload, elapsedMs: performance.now() - waiting.started, envelopeId: id });
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== '/socket' || !tickets.delete(ticket)) {
      // A URL is good for one connection only, like Slack's.
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      accepted += 1;
      ws.on('message', (data) => onMessage(data));
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: sockets.size,
          debug_info: { host: 'applink-emulator', build_number: 1, approximate_connection_time: 18060 },
          connection_info: { app_id: opts.appId },
        }),
      );
      for (const w of [...waiters]) w();
    });
  }
  server.on('upgrade', onUpgrade);

  const openSockets = () => [...sockets].filter((ws) => ws.readyState === WebSocket.OPEN);

  const socketMode: SlackSocketMode = {
    appToken: opts.appToken,
    connections: () => openSockets().length,
    accepted: () => accepted,
    received: () => structuredClone(received),
    waitForConnection: (timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        if (openSockets().length > 0) return resolve();
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(done);
          reject(new Error(`no Socket Mode connection within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(done);
      }),
    send: (type, payload, sendOpts = {}) => {
      const open = openSockets();
      // Slack picks one of the app's connections; the newest is the one surely alive.
      const ws = open[open.length - 1];
      if (!ws) return Promise.reject(new Error(`cannot send ${type}: no Socket Mode connection`));
      const envelopeId = randomUUID();
      const timeoutMs = sendOpts.timeoutMs ?? 3000;
      const accepts = sendOpts.acceptsResponsePayload ?? (type === 'slash_commands' || (type === 'interactive' && payload.type === 'view_submission'));
      const envelope: Json = {
        envelope_id: envelopeId,
        payload,
        type,
        accepts_response_payload: accepts,
        retry_attempt: sendOpts.retryAttempt ?? 0,
        retry_reason: sendOpts.retryReason ?? '',
      };
      return new Promise<SocketModeAck>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(envelopeId);
          reject(new Error(`${type} envelope ${envelopeId} was not acked within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(envelopeId, {
          started: performance.now(),
          resolve: (ack) => {
            clearTimeout(timer);
            resolve(ack);
          },
        });
        ws.send(JSON.stringify(envelope), (err) => {
          if (!err) return;
          clearTimeout(timer);
          pending.delete(envelopeId);
          reject(err);
        });
      });
    },
    disconnectAll: (reason = 'refresh_requested') => {
      for (const ws of openSockets()) ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-emulator' } }));
    },
  };

  return {
    socketMode,
    open(authorization) {
      const token = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length).trim() : undefined;
      // Slack takes the app-level token only from the Authorization header.
      if (!token) return { ok: false, error: 'not_authed' };
      if (token.startsWith('xoxb-') || token.startsWith('xoxp-')) return { ok: false, error: 'not_allowed_token_type' };
      if (token !== opts.appToken) return { ok: false, error: 'invalid_auth' };
      const ticket = randomBytes(16).toString('hex');
      tickets.add(ticket);
      const wsBase = opts.baseUrl.replace(/^http/, 'ws');
      return { ok: true, url: `${wsBase}/socket?ticket=${ticket}&app_id=${opts.appId}` };
    },
    async close() {
      clearInterval(pinger);
      server.off('upgrade', onUpgrade);
      for (const ws of sockets) ws.terminate();
      sockets.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/**
 * Acts as Slack towards an app connected over Socket Mode: the same slash command, block_actions and
 * view_submission payloads the signing client posts over HTTP, delivered as envelopes instead.
 */
export class SlackSocketModeClient {
  private readonly payloads: SlackSigningClient;

  constructor(
    private readonly emulator: SlackEmulator,
    options: { verificationToken?: string; defaultChannelName?: string } = {},
  ) {
    // Only its payload builders are used; nothing is posted to this URL.
    this.payloads = new SlackSigningClient({ botUrl: 'socket-mode:', signingSecret: '', emulator, ...options });
  }

  async slashCommand(input: SlashCommandInput, opts: SocketModeSendOptions = {}): Promise<SocketModeAck & { payload: Json; triggerId: string; responseUrl: string }> {
    const built = this.payloads.buildSlashCommand(input);
    const ack = await this.emulator.socketMode.send('slash_commands', built.payload, opts);
    return { ...ack, ...built };
  }

  async blockAction(input: BlockActionInput, opts: SocketModeSendOptions = {}): Promise<SocketModeAck & { payload: Json; triggerId: string; responseUrl?: string }> {
    const built = this.payloads.buildBlockAction(input);
    const ack = await this.emulator.socketMode.send('interactive', built.payload, opts);
    return { ...ack, ...built };
  }

  async viewSubmission(input: ViewSubmissionInput, opts: SocketModeSendOptions = {}): Promise<SocketModeAck & { payload: Json; triggerId: string }> {
    const built = this.payloads.buildViewSubmission(input);
    const ack = await this.emulator.socketMode.send('interactive', built.payload, opts);
    return { ...ack, ...built };
  }
}
