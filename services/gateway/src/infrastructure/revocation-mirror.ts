/*
 * The gateway's copy of a revocation bucket (revoked access-token ids, or revoked session
 * families), so that checking a token costs no NATS round trip. Before, every authenticated
 * request asked both buckets (two KV gets, each answered "not found"): 4.5 of a no-op task's 53
 * NATS messages, two round trips in series before every request's own work, and a quarter of the
 * gateway's CPU per task (bench/README.md, "The revocation check").
 *
 * When the copy answers, and when the bucket is asked instead:
 *  - the copy follows the bucket with a KV watch: every id in it at start, then every revocation
 *    as the server stores it (milliseconds; the watch resumes after its last revision when the
 *    connection comes back);
 *  - it answers only while it is known to hold everything the bucket held at its last sync: a
 *    sync reads the bucket's newest revision and waits until the watch delivered it. Until the
 *    first sync, while the connection is down, and from a reconnect until the next sync, every
 *    check asks the bucket as before (and so fails while NATS is unreachable: fail closed);
 *  - a revocation made through this gateway (logout, password change, a refresh that found its
 *    token reused) syncs before the request is answered (`catchUp`), so the client's next request
 *    here is refused. Another gateway replica learns it when its watch delivers it — milliseconds,
 *    the one window this copy adds;
 *  - ids are kept twice the access tokens' lifetime after they arrived, as the bucket keeps them
 *    (its entries expire after one lifetime, silently for a watch); past MAX_KEPT ids the copy
 *    stops answering and the bucket is asked again, rather than forget a revocation.
 */
import { ConnectionState } from '@agentyard/messaging';
import { isRevocableId, type RevocationList } from '@agentyard/service-kit';
import type { NatsConnection } from '@nats-io/transport-node';

/** More ids than this and the copy stops answering (the bucket is asked instead). */
const MAX_KEPT = 200_000;
/** Longest a sync waits for the watch to deliver the bucket's newest revision. */
const SYNC_TIMEOUT_MS = 5_000;
/** Wait before a failed sync is tried again. */
const RETRY_SYNC_MS = 1_000;

export class RevocationMirror {
  /** id → when it arrived (Date.now()). */
  private readonly revoked = new Map<string, number>();
  /** Highest revision the watch delivered. */
  private revision = 0;
  private readonly waiters = new Set<{ revision: number; resolve(): void }>();
  /** The copy holds everything the bucket held at the last sync, and no reconnect came since. */
  private synced = false;
  /** Counts reconnects: a sync that began before one cannot vouch for the copy. */
  private generation = 0;
  private stopWatch: (() => void) | undefined;
  private forgetReconnect: (() => void) | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly connection: ConnectionState;

  constructor(
    private readonly list: RevocationList,
    connection: Pick<NatsConnection, 'status'>,
    private readonly keepMs: number,
  ) {
    this.connection = ConnectionState.of(connection);
  }

  /** Starts following the bucket and syncs once; checks ask the bucket until that sync is done. */
  async start(): Promise<void> {
    this.stopWatch = await this.list.follow(({ id, revision }) => this.received(id, revision));
    this.watchReconnects();
    await this.catchUp().catch(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    this.synced = false;
    clearTimeout(this.retry);
    this.forgetReconnect?.();
    this.stopWatch?.();
  }

  /** True when `id` is revoked: from the copy while it is in sync, else from the bucket. */
  async isRevoked(id: string): Promise<boolean> {
    if (!isRevocableId(id)) return true;
    if (!this.answersLocally()) return this.list.isRevoked(id);
    const at = this.revoked.get(id);
    if (at === undefined) return false;
    if (Date.now() - at <= this.keepMs) return true;
    this.revoked.delete(id); // the bucket's own entry expired long ago
    return false;
  }

  /** Whether checks are answered from the copy right now (else they ask the bucket). */
  answersLocally(): boolean {
    return this.synced && this.connection.connected && this.revoked.size <= MAX_KEPT;
  }

  /**
   * Resolves once the copy holds every revocation the bucket holds now (the newest revision read
   * now was delivered); rejects when that takes over SYNC_TIMEOUT_MS, and then checks ask the
   * bucket until a later sync succeeds. Call it after a revocation made through this gateway,
   * before answering the request that made it.
   */
  async catchUp(): Promise<void> {
    try {
      await this.sync();
    } catch (error) {
      this.synced = false;
      this.syncLater();
      throw error;
    }
  }

  private async sync(): Promise<void> {
    // Never joins a sync in flight: that one may have read the newest revision before the
    // caller's revocation was stored.
    const generation = this.generation;
    const target = await this.list.lastRevision();
    if (this.revision < target) {
      let timer: NodeJS.Timeout | undefined;
      let waiter: { revision: number; resolve(): void } | undefined;
      try {
        await Promise.race([
          new Promise<void>((resolve) => this.waiters.add((waiter = { revision: target, resolve }))),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`the revocation watch did not reach revision ${target} within ${SYNC_TIMEOUT_MS} ms`)), SYNC_TIMEOUT_MS);
          }),
        ]);
      } finally {
        clearTimeout(timer);
        if (waiter) this.waiters.delete(waiter);
      }
    }
    if (!this.stopped && generation === this.generation) this.synced = true;
  }

  private received(id: string, revision: number): void {
    this.revoked.delete(id); // re-inserted last: the map stays in arrival order
    this.revoked.set(id, Date.now());
    this.prune();
    if (revision > this.revision) this.revision = revision;
    for (const waiter of [...this.waiters]) {
      if (waiter.revision <= this.revision) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Drops ids older than keepMs from the front (the oldest arrivals). */
  private prune(): void {
    const cutoff = Date.now() - this.keepMs;
    for (const [id, at] of this.revoked) {
      if (at > cutoff) break;
      this.revoked.delete(id);
    }
  }

  /** At every reconnect: ask the bucket until the watch has caught up again (it missed what came meanwhile). */
  private watchReconnects(): void {
    if (this.stopped) return;
    this.forgetReconnect = this.connection.onNextReconnect(() => {
      this.synced = false;
      this.generation++;
      this.watchReconnects();
      this.catchUp().catch(() => undefined);
    });
  }

  private syncLater(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.catchUp().catch(() => undefined);
    }, RETRY_SYNC_MS);
    this.retry.unref();
  }
}

/** The gateway's two copies (revoked token ids, revoked session families), for the routes that revoke. */
export class RevocationMirrors {
  constructor(
    readonly tokens: RevocationMirror,
    readonly families: RevocationMirror,
  ) {}

  async start(): Promise<void> {
    await Promise.all([this.tokens.start(), this.families.start()]);
  }

  /** Both copies hold every revocation stored so far; never rejects (a copy that cannot sync asks its bucket until it can). */
  async catchUp(): Promise<void> {
    await Promise.all([this.tokens.catchUp(), this.families.catchUp()]).catch(() => undefined);
  }

  stop(): void {
    this.tokens.stop();
    this.families.stop();
  }
}
