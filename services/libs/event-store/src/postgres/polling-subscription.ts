import type { Envelope } from '@agentyard/contracts';
import type { SubscribeOptions, Subscription } from '../event-store.port';
import { WakeSignal } from './wake-signal';

export interface PollingSubscriptionOptions extends SubscribeOptions {
  /** Reads up to `limit` events strictly after `after`, in global order. */
  read: (after: bigint, limit: number) => Promise<Envelope[]>;
  /** Longest wait between reads when nothing wakes the loop. */
  pollIntervalMs: number;
  /** Awaited before the first read (e.g. to LISTEN with `wake`); a rejection is ignored. */
  beforeFirstRead?: (wake: WakeSignal) => Promise<void>;
  /** Called once when the loop has ended. */
  onEnded?: () => void;
}

/**
 * A catch-up-then-follow loop over a store's `readAll`: reads a batch, hands each event to the
 * handler in order, and when a batch comes back short waits for `wake` or the poll interval.
 * Ordering and gap-freedom come from `read`; the loop only keeps its position after each handler.
 */
export class PollingSubscription implements Subscription {
  /** Signal it to make the loop read now (new events were announced). */
  readonly wake = new WakeSignal();
  private current: bigint;
  private stopping = false;
  private readonly done: Promise<void>;

  constructor(private readonly options: PollingSubscriptionOptions) {
    this.current = options.fromCheckpoint ?? 0n;
    this.done = this.run();
  }

  get position(): bigint {
    return this.current;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake.signal();
    await this.done;
  }

  private async run(): Promise<void> {
    const { read, onEvent, pollIntervalMs } = this.options;
    const batchSize = this.options.batchSize ?? 500;
    try {
      await this.options.beforeFirstRead?.(this.wake).catch(() => undefined);
      while (!this.stopping) {
        this.wake.clear();
        const batch = await read(this.current, batchSize);
        for (const event of batch) {
          if (this.stopping) return;
          await onEvent(event);
          this.current = BigInt(event.globalPosition ?? '0');
        }
        if (batch.length < batchSize && !this.stopping) await this.wake.wait(pollIntervalMs);
      }
    } catch (error) {
      this.stopping = true;
      const onError = this.options.onError ?? ((e: unknown) => process.emitWarning(`event store subscription stopped: ${String(e)}`));
      onError(error);
    } finally {
      this.options.onEnded?.();
    }
  }
}
