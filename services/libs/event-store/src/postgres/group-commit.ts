/*
 * Group commit for a store's standalone appends (why: under load each append was its own round
 * trip and its own commit, i.e. its own WAL flush).
 *
 * Natural batching, no timer by default: an append that finds nothing in flight goes at once, on
 * its own, exactly as without this class. Appends that arrive while one is in flight queue up, and
 * when it returns all of them (up to the caps) go together in one statement and one transaction.
 * So an idle store adds no latency, and a busy one commits as often as Postgres answers.
 *
 * Each queued append keeps its own outcome: the batch answers per item, and an item the batch
 * could not take (an error rolled back its subtransaction) is appended again on its own, where its
 * error surfaces exactly as it would have without batching. Proven by group-commit.int.spec.ts.
 */
import type { NewEvent } from '@agentyard/contracts';
import type { AppendResult, ExpectedVersion } from '../event-store.port';

/** One standalone append waiting for its commit. */
export interface QueuedAppend {
  streamId: string;
  events: NewEvent[];
  expected: ExpectedVersion;
}

/** What the batch did with one item: settled it, or gave it back to be appended on its own. */
export type BatchItemOutcome = { status: 'fulfilled'; value: AppendResult } | { status: 'rejected'; reason: unknown } | { status: 'retry' };

/** How appends reach Postgres: one alone, or several in one statement. */
export interface AppendSender {
  /** Appends one item in its own transaction; rejects with the port's errors. */
  appendOne(item: QueuedAppend): Promise<AppendResult>;
  /** Appends several items in one transaction; one outcome per item, in the same order. Rejects when the whole statement failed (nothing committed). */
  appendMany(items: QueuedAppend[]): Promise<BatchItemOutcome[]>;
}

export interface GroupCommitLimits {
  /** Most appends per batch. */
  maxAppends: number;
  /** Most events per batch (one transaction numbers at most 2^16). An append with more goes alone. */
  maxEvents: number;
  /** Batches (or single appends) in flight at once. Default 1. */
  maxInFlight?: number;
  /** Wait this long for company before sending when nothing is in flight. Default 0: send at once. */
  waitMs?: number;
}

interface Waiting extends QueuedAppend {
  resolve(result: AppendResult): void;
  reject(reason: unknown): void;
}

/** Queues standalone appends and sends them in batches; see the module comment. */
export class GroupCommitter {
  private readonly queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly settled = new Set<() => void>();
  private readonly maxInFlight: number;
  private readonly waitMs: number;

  constructor(
    private readonly sender: AppendSender,
    private readonly limits: GroupCommitLimits,
  ) {
    this.maxInFlight = Math.max(1, limits.maxInFlight ?? 1);
    this.waitMs = Math.max(0, limits.waitMs ?? 0);
  }

  /** Appends `item`, alone or with whatever else is queued; settles with its own outcome. */
  append(item: QueuedAppend): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ ...item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.settled.add(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    // A microtask still gathers appends issued in the same turn (Promise.all of several commands).
    const go = (): void => {
      this.scheduled = false;
      this.flush();
    };
    if (this.waitMs > 0) setTimeout(go, this.waitMs);
    else queueMicrotask(go);
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.flush();
        else if (this.inFlight === 0) {
          const waiting = [...this.settled];
          this.settled.clear();
          for (const done of waiting) done();
        }
      });
    }
  }

  /** The next batch from the queue's head: at least one append, then as many as the caps allow. */
  private take(): Waiting[] {
    const batch: Waiting[] = [];
    let events = 0;
    while (batch.length < this.limits.maxAppends) {
      const next = this.queue[0];
      if (!next || (batch.length > 0 && events + next.events.length > this.limits.maxEvents)) break;
      batch.push(next);
      events += next.events.length;
      this.queue.shift();
    }
    return batch;
  }

  private async send(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) {
      await this.alone(batch[0] as Waiting);
      return;
    }
    // Stream order inside a batch (stable, so one stream's appends keep their call order): two
    // batches of different processes then lock the streams rows in the same order and cannot deadlock.
    const sorted = [...batch].sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0));
    let outcomes: BatchItemOutcome[];
    try {
      outcomes = await this.sender.appendMany(sorted);
    } catch {
      // Nothing of the batch committed (or, if the connection died after the commit, the retries
      // are answered as idempotent repeats): each append goes again on its own.
      await Promise.all(sorted.map((item) => this.alone(item)));
      return;
    }
    await Promise.all(
      sorted.map((item, i) => {
        const outcome = outcomes[i];
        if (outcome?.status === 'fulfilled') item.resolve(outcome.value);
        else if (outcome?.status === 'rejected') item.reject(outcome.reason);
        else return this.alone(item);
        return undefined;
      }),
    );
  }

  private async alone(item: Waiting): Promise<void> {
    try {
      item.resolve(await this.sender.appendOne(item));
    } catch (error) {
      item.reject(error);
    }
  }
}
