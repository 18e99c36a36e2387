/*
 * Forwards a write-side service's events from its event store to JetStream, in global order.
 * A fact exists once it is in the store; JetStream only carries it. Invariants (tested in
 * event-relay.int.spec.ts):
 *  - events are published one at a time in the store's global order, each only after the
 *    previous one's publish was acked, with `Nats-Msg-Id` = event id. So if event k is on the
 *    stream, every event before it is too, whatever crashed when;
 *  - the checkpoint is saved only after every publish up to it was acked, never before. A relay
 *    killed between publish and checkpoint republishes at most the events after its last
 *    checkpoint; the stream's 10-minute duplicate window drops those repeats, so subscribers
 *    see each event once and none skipped;
 *  - the store, not this relay, guarantees that `readAll` never shows position N+1 before N is
 *    visible (no gap heuristics here).
 * Run one relay per write-side service (no leader election here). Two relays at once still keep
 * the stream in order, but their checkpoints can move backwards and repeats older than the
 * duplicate window would then get through.
 */
import type { Envelope } from '@agentyard/contracts';
import type { JetStreamClient } from '@nats-io/jetstream';
import { publishEvent } from './event-publisher';

/** Where a relay or projection remembers how far it got, by name. */
export interface CheckpointStore {
  /** The saved position, or 0n when nothing was saved under `name`. */
  load(name: string): Promise<bigint>;
  save(name: string, position: bigint): Promise<void>;
}

/** The part of the EventStore port the relay reads: the global log in order, after a position. */
export interface EventLogReader {
  readAll(options?: { fromPosition?: bigint; limit?: number }): Promise<Envelope[]>;
}

/** Options of an EventRelay. */
export interface EventRelayOptions {
  /** Checkpoint name, e.g. `relay:tasks`. */
  name: string;
  /** The service's event store (the EventStore port; only `readAll` is used). */
  store: EventLogReader;
  checkpoints: CheckpointStore;
  js: JetStreamClient;
  /** Subject of an event, e.g. `(e) => eventSubject('tasks', e.type, e.data.taskId)`. */
  subjectFor(event: Envelope): string;
  /** Events read and published per checkpoint. Default 500. */
  batchSize?: number;
  /** Wait between reads once caught up. Default 100 ms. */
  pollIntervalMs?: number;
  /** Wait after a failed batch before trying again. Default 1 000 ms. */
  retryDelayMs?: number;
  /** Ack timeout per publish attempt. Default 5 000 ms. */
  publishTimeoutMs?: number;
  /** Called with each error the relay recovers from by retrying (it is also logged). */
  onError?: (error: unknown) => void;
  /** Default: console. */
  logger?: { error(message: string): void };
}

/** Publishes a store's events to JetStream in global order and checkpoints after the acks. */
export class EventRelay {
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private published: bigint | undefined;
  private saved: bigint | undefined;

  constructor(private readonly options: EventRelayOptions) {}

  /** Position of the last event whose publish was acked (undefined before the first load). */
  get position(): bigint | undefined {
    return this.published;
  }

  /** Position last written to the checkpoint store by this relay. */
  get checkpoint(): bigint | undefined {
    return this.saved;
  }

  /** Starts relaying in the background; a no-op when already running. */
  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.run();
  }

  /** Stops after the publish in progress and checkpoints what was acked; resolves when done. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  private async run(): Promise<void> {
    const { name, store, checkpoints, js, subjectFor } = this.options;
    const batchSize = this.options.batchSize ?? 500;
    while (!this.stopping) {
      try {
        if (this.published === undefined) {
          this.saved = await checkpoints.load(name);
          this.published = this.saved;
        }
        const events = await store.readAll({ fromPosition: this.published, limit: batchSize });
        for (const event of events) {
          if (this.stopping) break;
          const position = positionOf(event);
          await publishEvent(js, subjectFor(event), event, { timeoutMs: this.options.publishTimeoutMs });
          this.published = position;
        }
        // Only after every publish above was acked.
        if (this.published !== this.saved) {
          await checkpoints.save(name, this.published);
          this.saved = this.published;
        }
        if (events.length < batchSize) await this.pause(this.options.pollIntervalMs ?? 100);
      } catch (error) {
        this.options.onError?.(error);
        (this.options.logger ?? console).error(`event relay ${name} failed after position ${String(this.published)}, retrying: ${(error as Error)?.message ?? String(error)}`);
        await this.pause(this.options.retryDelayMs ?? 1_000);
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    if (this.stopping) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      this.wake = done;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
    this.wake = undefined;
  }
}

function positionOf(event: Envelope): bigint {
  if (event.globalPosition === undefined) throw new Error(`event ${event.id} was read without a globalPosition: the store adapter must set it`);
  return BigInt(event.globalPosition);
}
