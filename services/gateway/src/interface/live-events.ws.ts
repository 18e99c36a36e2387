/*
 * The authenticated WebSocket at /ws. Browsers cannot set headers on a WebSocket, and a token in
 * the URL ends up in proxy logs, so the client sends `{ "type": "auth", "token": "<jwt>" }` as
 * its first message (within 5 s). After that it receives `{ "type": "event", "event": … }` for
 * events that belong to it — ownership is checked per message, per socket (brief §10). The
 * socket closes with 4401 when the token expires or its user logs out; the client refreshes and
 * reconnects. An API token (`ayt_…`, for scripts) works too: it receives task events and output
 * with `tasks:read`, worker events with `workers:read` (4403 with neither), and is checked again
 * every cache TTL, so a revoked token's socket closes with 4401 within about 30 s.
 *
 * A session's sockets also close with 4401 as soon as its family is revoked (a password change
 * signs out every other session, a refresh-token reuse its family, a logout its own): the hub
 * watches auth's revoked-families KV bucket. A browser page may open the socket only from the
 * dashboard's own origin or one of CORS_ORIGINS (a missing Origin — scripts, the CLI — is
 * allowed: only browsers send one, and they cannot forge it). Allocation events reach the task's
 * owner with only the candidates the owner may see (contracts' allocationVisibleToOwner), as in
 * GET /tasks/{id}/allocation. Tested in test/edge-security.e2e.spec.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Logger } from '@nestjs/common';
import { WebSocketServer, type WebSocket } from 'ws';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { allocationVisibleToOwner, outputChunkSchema, type Candidate, type CountedCandidates, type Envelope, type OutputChunk } from '@agentyard/contracts';
import { setBounded, type AccessClaims, type AccessTokenVerifier, type RevocationList } from '@agentyard/service-kit';
import type { ApiTokenResolver } from '../infrastructure/api-token-resolver';
import type { EventFeed } from '../infrastructure/event-feed';
import type { OwnershipIndex } from '../infrastructure/ownership-index';

interface Session {
  socket: WebSocket;
  claims: AccessClaims;
  expiry: NodeJS.Timeout;
}

export const WS_CLOSE_UNAUTHENTICATED = 4401;
export const WS_CLOSE_FORBIDDEN = 4403;

/** A socket this far behind gets no more output frames until it catches up (events still flow). */
const OUTPUT_BACKPRESSURE_BYTES = 4 * 1024 * 1024;

/**
 * How long the feed keeps running after the last socket closed: a dashboard that reloads or
 * reconnects comes back within this, and should not pay for consumers being created again.
 */
const IDLE_GRACE_MS = 30_000;

/** Families revoked lately, remembered so a socket that authenticated just before is closed too. */
const RECENT_REVOCATIONS_KEPT = 10_000;

export interface LiveEventsHubOptions {
  /** Auth's revoked-families bucket (contracts' revokedFamiliesBucket), watched for sign-outs. */
  revokedFamilies: RevocationList;
  /** Browser origins besides the gateway's own that may open the socket (CORS_ORIGINS). */
  allowedOrigins: string[];
}

export class LiveEventsHub {
  private readonly logger = new Logger('LiveEventsHub');
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly sessions = new Map<WebSocket, Session>();
  private unsubscribe: (() => void) | undefined;
  private output: Subscription | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private stopFamilyWatch: (() => void) | undefined;
  private readonly recentlyRevokedFamilies = new Map<string, true>();
  private readonly allowedOrigins: Set<string>;

  constructor(
    private readonly verifier: AccessTokenVerifier,
    private readonly apiTokens: ApiTokenResolver,
    private readonly feed: EventFeed,
    private readonly ownership: OwnershipIndex,
    private readonly nc: NatsConnection,
    private readonly options: LiveEventsHubOptions,
  ) {
    this.allowedOrigins = new Set(options.allowedOrigins.map((o) => originOf(o)).filter((o): o is string => o !== undefined));
  }

  /** Call from the HTTP server's `upgrade` event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws') {
      socket.destroy();
      return;
    }
    if (!this.originAllowed(req)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nthis origin may not open the live socket\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  /**
   * A browser names the page's origin; a page elsewhere must not ride a user's token into the
   * socket (cross-site WebSocket hijacking). Same origin = the Host the request was sent to.
   */
  private originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    const parsed = originOf(origin);
    if (parsed === undefined) return false;
    if (this.allowedOrigins.has(parsed)) return true;
    return req.headers.host !== undefined && new URL(parsed).host === req.headers.host.toLowerCase();
  }

  /** Follows the event feed (once live) and, from now on, auth's revoked families. */
  async start(): Promise<void> {
    this.unsubscribe = this.feed.onEvent((event) => {
      this.ownership.observe(event);
      void this.broadcast(event);
    });
    this.stopFamilyWatch = await this.options.revokedFamilies.watch((familyId) => this.onFamilyRevoked(familyId));
  }

  private onFamilyRevoked(familyId: string): void {
    setBounded(this.recentlyRevokedFamilies, familyId, true, RECENT_REVOCATIONS_KEPT);
    for (const session of this.sessions.values()) {
      if (session.claims.fam === familyId) session.socket.close(WS_CLOSE_UNAUTHENTICATED, 'this session was signed out');
    }
  }

  /**
   * Events and output are followed only while a socket is authenticated (see EventFeed). Resolves
   * once both are followed, so the socket's `ready` promises every later event.
   */
  private async goLive(): Promise<void> {
    clearTimeout(this.idleTimer);
    if (!this.output) {
      this.output = this.nc.subscribe('work.output.*.*', {
        callback: (err, msg) => {
          if (err) return;
          const parsed = outputChunkSchema.safeParse(msg.json());
          // work.output.<sender>.<taskId>: NATS lets a worker publish only under its own id.
          const [, , sender, taskId] = msg.subject.split('.');
          if (parsed.success && sender && taskId === parsed.data.taskId) void this.forwardOutput(parsed.data, sender);
        },
      });
      await this.nc.flush(); // the server has the subscription
    }
    await this.feed.start();
  }

  /** After the last socket, stop following once the grace period passes with nobody back. */
  private goIdleLater(): void {
    if (this.sessions.size > 0) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.sessions.size > 0) return;
      this.output?.unsubscribe();
      this.output = undefined;
      void this.feed.stop();
      // What it learned from the feed goes stale while nobody follows it: ask again next time.
      this.ownership.forget();
    }, IDLE_GRACE_MS);
    this.idleTimer.unref();
  }

  private onConnection(ws: WebSocket): void {
    const timer = setTimeout(() => ws.close(WS_CLOSE_UNAUTHENTICATED, 'send {"type":"auth","token":…} first'), 5_000);
    ws.once('message', (raw) => {
      clearTimeout(timer);
      void this.authenticate(ws, raw.toString());
    });
    ws.on('close', () => {
      clearTimeout(timer);
      const session = this.sessions.get(ws);
      if (session) clearTimeout(session.expiry);
      this.sessions.delete(ws);
      this.goIdleLater();
    });
    ws.on('error', () => ws.terminate());
  }

  private async authenticate(ws: WebSocket, raw: string): Promise<void> {
    let token: unknown;
    try {
      const msg = JSON.parse(raw) as { type?: unknown; token?: unknown };
      token = msg.type === 'auth' ? msg.token : undefined;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string') {
      ws.close(WS_CLOSE_UNAUTHENTICATED, 'first message must be {"type":"auth","token":…}');
      return;
    }
    try {
      const apiToken = token.startsWith('ayt_');
      const claims = apiToken ? await this.apiTokens.claims(token) : await this.verifier.verify(token);
      if (apiToken && !claims.scopes?.some((s) => s === 'tasks:read' || s === 'workers:read' || s === 'workflows:read')) {
        ws.close(WS_CLOSE_FORBIDDEN, 'this API token has none of the tasks:read, workers:read and workflows:read scopes');
        return;
      }
      await this.goLive();
      if (ws.readyState !== ws.OPEN) return this.goIdleLater(); // closed while we were starting
      const expiry = apiToken
        ? setInterval(() => void this.recheckApiToken(ws, token), this.apiTokens.ttlMs + 1_000)
        : setTimeout(() => ws.close(WS_CLOSE_UNAUTHENTICATED, 'access token expired'), Math.max(0, claims.exp * 1000 - Date.now()));
      this.sessions.set(ws, { socket: ws, claims, expiry });
      // Revoked while this socket was being authenticated (the watch saw it before the session existed).
      if (claims.fam !== undefined && this.recentlyRevokedFamilies.has(claims.fam)) {
        ws.close(WS_CLOSE_UNAUTHENTICATED, 'this session was signed out');
        return;
      }
      ws.send(JSON.stringify({ type: 'ready', userId: claims.sub }));
    } catch (e) {
      ws.close(WS_CLOSE_UNAUTHENTICATED, e instanceof Error ? e.message.slice(0, 120) : 'unauthenticated');
    }
  }

  /** An API token's socket lives while the token resolves; revoked or expired → 4401. */
  private async recheckApiToken(ws: WebSocket, token: string): Promise<void> {
    try {
      await this.apiTokens.resolve(token);
    } catch {
      ws.close(WS_CLOSE_UNAUTHENTICATED, 'the API token was revoked or has expired');
    }
  }

  /** What an API token's scopes let its socket receive (a session receives everything it owns). */
  private scopeAllows(claims: AccessClaims, event: Envelope | 'output'): boolean {
    if (claims.kind !== 'api-token') return true;
    const scopes = claims.scopes ?? [];
    if (event === 'output' || event.streamId.startsWith('task-') || event.streamId.startsWith('allocation-')) return scopes.includes('tasks:read');
    if (event.streamId.startsWith('worker-')) return scopes.includes('workers:read');
    if (event.streamId.startsWith('run-') || event.streamId.startsWith('workflow-')) return scopes.includes('workflows:read');
    return false; // the user's own auth events are for their sessions
  }

  private async forwardOutput(chunk: OutputChunk, senderWorkerId: string): Promise<void> {
    const viewers: Session[] = [];
    for (const session of [...this.sessions.values()]) {
      if (session.socket.bufferedAmount > OUTPUT_BACKPRESSURE_BYTES || !this.scopeAllows(session.claims, 'output')) continue;
      if (await this.ownership.mayUserSeeTask(session.claims.sub, chunk.taskId)) viewers.push(session);
    }
    if (viewers.length === 0) return;
    // Only the worker KNOWN to run the current attempt speaks for the task (a worker's NATS user
    // may publish output for any task id under its own worker id). Viewers of a task are its owner.
    // The agent events of the live transcript ride in the chunk (`events`), so this fence is theirs too.
    if (!(await this.ownership.runsCurrentAttempt(viewers[0]!.claims.sub, chunk.taskId, chunk.attempt, senderWorkerId))) return;
    const frame = JSON.stringify({ type: 'output', chunk });
    for (const session of viewers) if (session.socket.readyState === session.socket.OPEN) session.socket.send(frame);
  }

  private async broadcast(received: Envelope): Promise<void> {
    const event = visibleToOwner(received);
    const frame = JSON.stringify({ type: 'event', event });
    for (const session of [...this.sessions.values()]) {
      if (!this.scopeAllows(session.claims, event) || !(await this.ownership.mayReceive(session.claims.sub, event))) continue;
      if (event.type === 'UserLoggedOut' && (!event.data.familyId || event.data.familyId === session.claims.fam)) {
        session.socket.send(frame);
        session.socket.close(WS_CLOSE_UNAUTHENTICATED, 'logged out');
        continue;
      }
      session.socket.send(frame);
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.stopFamilyWatch?.();
    this.unsubscribe?.();
    this.output?.unsubscribe();
    for (const session of this.sessions.values()) {
      clearTimeout(session.expiry);
      session.socket.close(1001, 'server shutting down');
    }
    this.wss.close();
    this.logger.log('closed');
  }
}

/** `https://host:port` of an origin or URL, lower-cased; undefined when it is not one. */
function originOf(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An allocation event as the task's owner (the only user who receives it) may see it: without
 * the candidates the owner has no role on — other users' workers —, which with the counted
 * workers of that kind become one count (contracts' allocationVisibleToOwner).
 */
export function visibleToOwner(event: Envelope): Envelope {
  if (event.type !== 'AllocationDecided' && event.type !== 'AllocationDeferred') return event;
  const data = event.data as { candidates?: Candidate[]; others?: CountedCandidates[] };
  if (!Array.isArray(data.candidates)) return event;
  return {
    ...event,
    data: { ...event.data, ...allocationVisibleToOwner({ candidates: data.candidates, others: Array.isArray(data.others) ? data.others : [] }) },
  };
}
