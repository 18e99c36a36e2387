/*
 * Group commit for standalone appends: appends that arrive while earlier ones are on their way
 * to Postgres are sent together as one `append_to_streams` statement — one round trip and one
 * commit (one WAL flush) for the lot instead of one each. An append arriving when nothing is in
 * flight goes at once, so an idle store adds no latency.
 *
 * Invariants (tested in postgres-event-store.int.spec.ts):
 *  - each append keeps its own outcome: its own expected-version check, idempotent-retry answer,
 *    VersionConflict or DuplicateEventId; one item's failure never fails another;
 *  - a batch commits atomically, so every append it reports as appended is durable;
 *  - items are sent sorted by stream id (stable), so two batches in flight take the `streams`
 *    row locks in one order and cannot deadlock each other;
 *  - an error of the whole statement (connection lost, …) rejects every item of that batch.
 */

/** One append as the SQL function takes it. */
export interface BatchItem {
  streamId: string;
  /** The expected-version argument ('any' | 'no_stream' | 'stream_exists' | decimal). */
  expected: string;
  /** The events as JSON-serialisable objects (NewEvent). */
  events: unknown[];
}

/** What `append_to_streams` answers for one item. */
export interface BatchItemResult {
  o_status: 'appended' | 'stored' | 'conflict' | 'duplicate' | 'error';
  o_version: string | null;
  o_position: string | null;
  o_sqlstate: string | null;
  o_constraint: string | null;
}

interface Pending {
  item: BatchItem;
  resolve: (result: BatchItemResult) => void;
  reject: (error: unknown) => void;
}

export class AppendBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;

  /**
   * @param send runs one `append_to_streams` call; its results come back in the items' order
   * @param maxItems items per statement (≤ 50, see the migration)
   * @param maxInFlight statements on their way at once
   */
  constructor(
    private readonly send: (items: BatchItem[]) => Promise<BatchItemResult[]>,
    private readonly maxItems = 50,
    private readonly maxInFlight = 2,
  ) {}

  append(item: BatchItem): Promise<BatchItemResult> {
    return new Promise<BatchItemResult>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxItems);
      batch.sort((a, b) => (a.item.streamId < b.item.streamId ? -1 : a.item.streamId > b.item.streamId ? 1 : 0));
      this.inFlight++;
      this.send(batch.map((p) => p.item))
        .then(
          (results) => {
            batch.forEach((p, i) => {
              const result = results[i];
              if (result) p.resolve(result);
              else p.reject(new Error(`append_to_streams answered ${results.length} of ${batch.length} items`));
            });
          },
          (error: unknown) => batch.forEach((p) => p.reject(error)),
        )
        .finally(() => {
          this.inFlight--;
          this.flush();
        });
    }
  }
}
