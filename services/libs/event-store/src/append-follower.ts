/*
 * When a reader of a store's global log (the event relay, a projection) reads again. Both read the
 * log in order from a position and had each kept their own copy of this logic.
 *
 *  - woken at once by an append: this process's own (with the last event's position, no round
 *    trip) and other processes' (LISTEN/NOTIFY, through the store's `onAppended`);
 *  - a wake-up that comes while the reader is busy is kept for the wait after it (WakeSignal), so
 *    none is lost between a read and that wait;
 *  - when the reader has caught up with what it read but an append it was told about lies beyond
 *    that, the append is not visible yet (the store shows nothing past a transaction of its
 *    database that is still open): it reads again in 2 ms, not after the idle interval;
 *  - a wake-up for a position the reader has read already (its own append's NOTIFY, heard after
 *    the in-process wake-up was answered) is skipped;
 *  - otherwise it reads again after `idleMs` (a fallback for a missed wake-up), or `pollMs` with a
 *    store that cannot announce appends.
 */
import { WakeSignal } from './postgres/wake-signal';

/** What a follower needs from the store: wake-ups after appends (PostgresEventStore has them). */
export interface AppendSource {
  /** Calls `listener` after appends; with this process's own ones, the last appended event's position. */
  onAppended?(listener: (position?: bigint) => void): Promise<{ close(): Promise<void> }>;
}

export interface AppendFollowerOptions {
  /** Longest wait once caught up, when the store announces appends. */
  idleMs: number;
  /** Longest wait once caught up, when it does not (or listening failed). */
  pollMs: number;
}

/** Look again this soon while an announced append is not visible yet. */
const NOT_YET_VISIBLE_RETRY_MS = 2;

/** Says when a reader of the global log reads again; see the module comment. */
export class AppendFollower {
  private readonly wake = new WakeSignal();
  /** Highest position announced by this process's appends (or awaited by the reader's caller). */
  private announcedUpTo: bigint | undefined;
  /** Where the last read that found nothing more left the reader (cleared after a failure: it may go back). */
  private readUpTo: bigint | undefined;
  private watch: { close(): Promise<void> } | undefined;
  private idleMs: number;

  constructor(
    private readonly source: AppendSource,
    private readonly options: AppendFollowerOptions,
  ) {
    this.idleMs = options.pollMs;
  }

  /** Starts following the store's appends; the reader's first read comes after it (nothing committed in between goes unnoticed). */
  async open(): Promise<void> {
    this.watch = await this.source.onAppended?.((position) => this.announce(position)).catch(() => undefined);
    this.idleMs = this.watch ? this.options.idleMs : this.options.pollMs;
  }

  async close(): Promise<void> {
    const watch = this.watch;
    this.watch = undefined;
    await watch?.close().catch(() => undefined);
  }

  /** Something was appended (up to `position`, when known): read again now. */
  announce(position?: bigint): void {
    if (position !== undefined && this.readUpTo !== undefined && position <= this.readUpTo) return;
    if (position !== undefined && (this.announcedUpTo === undefined || position > this.announcedUpTo)) this.announcedUpTo = position;
    this.wake.signal();
  }

  /** Ends the current (or next) wait at once, e.g. to stop. */
  interrupt(): void {
    this.wake.signal();
  }

  /** Call right before a read: wake-ups until now are answered by it. */
  reading(): void {
    this.wake.clear();
  }

  /** After a read that left the reader at `position` with nothing more to read: waits until it should read again. */
  caughtUp(position: bigint | undefined): Promise<void> {
    this.readUpTo = position;
    const behind = this.announcedUpTo !== undefined && position !== undefined && this.announcedUpTo > position;
    return this.wake.wait(behind ? NOT_YET_VISIBLE_RETRY_MS : this.idleMs);
  }

  /** Waits `ms`, or less on a wake-up (after a failed read, say). */
  pause(ms: number): Promise<void> {
    this.readUpTo = undefined;
    return this.wake.wait(ms);
  }
}
