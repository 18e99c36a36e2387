/*
 * Runs a read-model projection over a service's own event store. Each batch of events is applied
 * in ONE database transaction together with the projection's checkpoint, so a crash mid-batch
 * replays the batch and redelivery is harmless (brief §5). `rebuild()` truncates the read model
 * and replays from position 0: a rebuilt model must equal the live one (tested by each service).
 *
 * Several replicas of a service may run the same projection: a batch's transaction first locks
 * the checkpoint row and applies the batch only when the checkpoint is still where this runner
 * read from (compare-and-set). Otherwise another replica applied it: the transaction writes
 * nothing and this runner moves to the stored position. So no batch is applied twice or over
 * newer rows, and each replica's `catchUp()` still gives read-your-writes (tested in
 * event-sourcing.int.spec.ts).
 *
 * When it reads again is event-store's AppendFollower (the relay's too): at once after an append
 * of this process or another, or a `nudge()`, or for a `caughtUpTo` waiter (whose position counts
 * as announced); every 2 ms while such a position is not visible yet; otherwise every
 * `pollIntervalMs`, a fallback for a missed wake-up (1 s). It polled every 20 ms before: ~50 empty
 * reads a second per projection on an idle platform.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Envelope } from '@agentyard/contracts';
import { AppendFollower, type AppendSource, type PostgresCheckpointStore } from '@agentyard/event-store';

/** The part of the service's event store a projection reads (PostgresEventStore is one). */
export interface ProjectionSource extends AppendSource {
  /** The global log after a position. */
  readAll(options: { fromPosition?: bigint; limit?: number }): Promise<Envelope[]>;
}

export interface ProjectionRunnerOptions<DB> {
  /** Checkpoint name, e.g. `projection:task_view`. */
  name: string;
  /** Reads the global log after a position (the service's own store). */
  store: ProjectionSource;
  db: Kysely<DB>;
  checkpoints: PostgresCheckpointStore;
  /** Applies one event inside the batch transaction (pure evolve + upsert). Or give `applyBatch`. */
  apply?: (trx: Transaction<DB>, event: Envelope) => Promise<void>;
  /**
   * Applies a whole batch (in global order) inside its transaction: read the rows it touches
   * once, fold in memory, write them with one statement — a few round trips per batch instead
   * of two per event.
   */
  applyBatch?: (trx: Transaction<DB>, events: Envelope[]) => Promise<void>;
  /** Empties the read model (for rebuild), inside the rebuild transaction. */
  truncate: (trx: Transaction<DB>) => Promise<void>;
  /** Events per transaction. Default 500. */
  batchSize?: number;
  /** Longest idle wait between reads when nothing wakes the runner. Default 1 000 ms with a store that announces appends, else 20 ms. */
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}

export class ProjectionRunner<DB> {
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly follower: AppendFollower;
  private position: bigint | undefined;
  private readonly waiters: Array<{ position: bigint; resolve: () => void }> = [];

  constructor(private readonly options: ProjectionRunnerOptions<DB>) {
    if (!options.apply === !options.applyBatch) throw new Error(`projection ${options.name}: give exactly one of apply and applyBatch`);
    this.follower = new AppendFollower(options.store, { idleMs: options.pollIntervalMs ?? 1_000, pollMs: options.pollIntervalMs ?? 20 });
  }

  /** Position of the last event applied and committed. */
  get checkpoint(): bigint | undefined {
    return this.position;
  }

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.follower.interrupt();
    await this.running;
    this.running = undefined;
  }

  /** Read now instead of after the idle wait (e.g. right after this process appended). */
  nudge(): void {
    this.follower.announce();
  }

  /** Resolves once every event up to `position` is applied (read-your-writes for tests and handlers). */
  async caughtUpTo(position: bigint): Promise<void> {
    if (this.position !== undefined && this.position >= position) return;
    await new Promise<void>((resolve) => {
      this.waiters.push({ position, resolve });
      this.follower.announce(position);
    });
  }

  /**
   * Resolves once every event committed to the store before the call is applied, or after
   * `timeoutMs` (read-your-writes for handlers that query the model right after a fact).
   */
  async catchUp(timeoutMs = 5_000): Promise<void> {
    let from = this.position ?? (await this.options.checkpoints.load(this.options.name));
    let last: bigint | undefined;
    for (;;) {
      const pending = await this.options.store.readAll({ fromPosition: from, limit: 1_000 });
      const position = pending.at(-1)?.globalPosition;
      if (position === undefined) break;
      last = from = BigInt(position);
      if (pending.length < 1_000) break;
    }
    if (last === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.caughtUpTo(last), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Stops, empties the read model and its checkpoint, and replays everything; then runs on. */
  async rebuild(): Promise<void> {
    await this.stop();
    await this.options.db.transaction().execute(async (trx) => {
      await this.options.truncate(trx);
      await this.options.checkpoints.save(this.options.name, 0n, trx);
    });
    this.position = 0n;
    await this.drain();
    this.start();
  }

  /** Applies everything available now, then resolves (used by rebuild and tests). */
  async drain(): Promise<void> {
    while ((await this.step()) > 0) {
      /* keep going */
    }
  }

  private async step(): Promise<number> {
    const { store, db, checkpoints, name, apply, applyBatch } = this.options;
    if (this.position === undefined) this.position = await checkpoints.load(name);
    const events = await store.readAll({ fromPosition: this.position, limit: this.options.batchSize ?? 500 });
    if (events.length === 0) return 0;
    const last = BigInt(events[events.length - 1]!.globalPosition ?? '0');
    const from = this.position;
    const stored = await db.transaction().execute(async (trx) => {
      // Asynchronous commit: the rows and the checkpoint are lost or kept together, and lost ones
      // are replayed from the store, so this transaction need not wait for its WAL flush — and a
      // transaction waiting for its flush still counts as running, holding back every reader of
      // the store in this database (the relay included) meanwhile.
      const current = await checkpoints.lockForUpdate(name, trx, { asyncCommit: true });
      if (current !== from) return current; // another replica moved it: apply nothing
      if (applyBatch) await applyBatch(trx, events);
      else for (const event of events) await apply!(trx, event);
      await checkpoints.save(name, last, trx);
      return last;
    });
    this.position = stored;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.position <= stored) this.waiters.splice(i, 1)[0]!.resolve();
    }
    // A checkpoint another replica moved is progress too (read again at once), unless it went back (a rebuild).
    return stored === last ? events.length : stored > from ? 1 : 0;
  }

  private async loop(): Promise<void> {
    await this.follower.open();
    try {
      while (!this.stopping) {
        this.follower.reading();
        try {
          const applied = await this.step();
          if (applied > 0) continue;
        } catch (error) {
          this.options.onError?.(error);
          await this.follower.pause(1_000);
          continue;
        }
        if (!this.stopping) await this.follower.caughtUp(this.position);
      }
    } finally {
      await this.follower.close();
    }
  }
}
