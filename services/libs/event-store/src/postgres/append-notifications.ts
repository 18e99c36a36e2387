/*
 * LISTEN/NOTIFY wake-ups for subscribers. They only shorten the wait between polls: a lost or late
 * notification delays delivery by at most one poll interval and never changes what is delivered.
 *
 * Why standalone appends notify *after* commit, from a separate statement: a transaction that
 * issued NOTIFY takes a cluster-wide lock at commit and holds it through its WAL flush, so
 * notifying inside every append would serialise all appending commits and defeat group commit.
 * The separate statement writes no WAL of its own and is coalesced to at most one per
 * `minIntervalMs`, so under load it costs a few statements per second, not one per append.
 *
 * A notification names the highest position the notifying process appended (an appending
 * transaction's own NOTIFY, from the SQL function, names none). Every process also hears its own
 * notifications, after its readers were already woken in process and have read past them: a
 * reader told a position it has read skips that wake-up (AppendFollower) instead of reading the
 * log again for nothing — a third of the tasks service's reads of the log in a task burst.
 */
import { sql, type QueryExecutorProvider } from 'kysely';
import { Client } from 'pg';
/** Anything woken by an append notification (a WakeSignal, a relay's wake-up). */
export interface AppendSignal {
  /** `position`: the last appended event's, when the append was this process's own. */
  signal(position?: bigint): void;
}

/** Sends coalesced `pg_notify(channel)` calls after appends that committed. */
export class AppendNotifier {
  private dirty = false;
  /** Highest position appended by this process (sent with the next notification). */
  private upTo: bigint | undefined;
  private lastSent = 0;
  private sending: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: QueryExecutorProvider,
    private readonly channel: string,
    private readonly minIntervalMs: number,
  ) {}

  /** Records that events were committed, up to `position`; a notification follows within `minIntervalMs`. */
  appended(position?: bigint): void {
    if (this.closed) return;
    this.dirty = true;
    if (position !== undefined && (this.upTo === undefined || position > this.upTo)) this.upTo = position;
    if (this.sending || this.timer) return;
    const wait = this.lastSent + this.minIntervalMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.send();
      }, wait);
      this.timer.unref();
    } else {
      this.send();
    }
  }

  /** Stops sending; resolves when no notification is in flight. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.sending;
  }

  private send(): void {
    if (!this.dirty || this.closed) return;
    this.dirty = false;
    this.lastSent = Date.now();
    this.sending = sql`select pg_notify(${this.channel}, ${this.upTo?.toString() ?? ''})`
      .execute(this.db)
      .then(
        () => undefined,
        () => undefined, // subscribers fall back to polling
      )
      .finally(() => {
        this.sending = undefined;
        if (this.dirty) this.appended();
      });
  }
}

/**
 * One LISTEN connection per store, shared by its subscriptions. Without a connection string, or
 * while the connection is down, subscriptions simply poll. A lost connection (a Postgres restart)
 * is re-established by the listener itself every `retryMs` while anyone listens — the relays and
 * projections only ask once, at start, and poll slowly (1 s) as a fallback, so without it a
 * restart would leave them on the fallback for good. Every signal fires once LISTEN is back:
 * something may have been appended while nobody listened.
 */
export class AppendListener {
  private client: Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly signals = new Set<AppendSignal>();
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  /** Wait before trying again after the LISTEN connection failed or dropped. */
  retryMs = 1_000;

  constructor(
    private readonly connectionString: string | undefined,
    private readonly channel: string,
  ) {}

  /** Registers a wake signal and makes sure LISTEN is in place; resolves once it is (or failed). */
  add(signal: AppendSignal): Promise<void> {
    this.signals.add(signal);
    return this.ensureListening();
  }

  /** Unregisters a wake signal; the connection closes when none is left. */
  async remove(signal: AppendSignal): Promise<void> {
    this.signals.delete(signal);
    if (this.signals.size === 0) await this.disconnect();
  }

  /** (Re)connects when needed; never rejects. */
  ensureListening(): Promise<void> {
    if (this.closed || !this.connectionString || this.client) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.disconnect();
  }

  /** Connects again in `retryMs` while there is something to wake and nobody is (re)connecting. */
  private retryLater(): void {
    if (this.closed || this.retry || this.signals.size === 0) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.ensureListening();
    }, this.retryMs);
    this.retry.unref();
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.connectionString });
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      void client.end().catch(() => undefined);
      this.retryLater();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      const position = positionOf(message.payload);
      for (const signal of this.signals) signal.signal(position);
    });
    try {
      await client.connect();
      await client.query(`listen ${this.channel}`);
    } catch {
      await client.end().catch(() => undefined);
      this.retryLater();
      return;
    }
    if (this.closed || this.signals.size === 0) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    // Something may have been appended while we were not listening yet.
    for (const signal of this.signals) signal.signal();
  }

  private async disconnect(): Promise<void> {
    await this.connecting;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

/** The position a notification names; undefined for none or anything that is not one. */
export function positionOf(payload: string | undefined): bigint | undefined {
  return payload && /^\d{1,19}$/.test(payload) ? BigInt(payload) : undefined;
}
