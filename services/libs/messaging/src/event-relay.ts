/*
 * Forwards a write-side service's events from its event store to JetStream, in global order.
 * A fact exists once it is in the store; JetStream only carries it. Invariants (tested in
 * event-relay.int.spec.ts):
 *  - events reach the stream in the store's global order, with `Nats-Msg-Id` = event id. A batch
 *    is published pipelined (not one ack round trip per event), and each publish but the first
 *    of a run carries `Nats-Expected-Last-Msg-Id` = the previous event's id: the server stores
 *    event k only right after event k-1, so a lost publish (a reconnect mid-batch) makes every
 *    later one of the batch fail instead of overtaking it. The relay then republishes from the
 *    first unacked event, the first of them without the expectation (the stream's last id may
 *    not be known to the server after its restart). So if event k is on the stream, every event
 *    before it is too, whatever crashed when;
 *  - the checkpoint is saved only after every publish up to it was acked, never before, and at
 *    most every `checkpointIntervalMs` (and on stop): a write per batch cost a commit per
 *    batch, while under load a batch is often one event. A relay killed between publish and
 *    checkpoint republishes at most the events after its last checkpoint (a fraction of a
 *    second's worth); the stream's 10-minute duplicate window drops those repeats (the server
 *    checks the msg id before the expectation), so subscribers see each event once and none
 *    skipped;
 *  - the store, not this relay, guarantees that `readAll` never shows position N+1 before N is
 *    visible (no gap heuristics here);
 *  - every subject the relay publishes to is captured by one stream that only this relay writes
 *    (the expectation is about that stream's last message);
 *  - JetStream can lose what it acknowledged (2.9 fsyncs every 60 s; a stream can be recreated
 *    empty): at start, given `stream`, the relay reads the stream's last event and, when it lies
 *    before its checkpoint, republishes from there — from the beginning when the stream was
 *    recreated empty. A stream emptied by its age limit (sequence numbers went on) is left alone.
 * When it reads again is event-store's AppendFollower (the projections' too): as soon as the store
 * says something was appended (`onAppended`), else every `pollIntervalMs` (1 s: a fallback for a
 * missed wake-up — at 100 ms the relays alone made 50 empty reads a second on an idle platform);
 * while an append it was told about is not visible yet, every 2 ms. A store without `onAppended`
 * is polled every 100 ms.
 *
 * Given its `connection`, a reconnect ends the wait for the batch's acks at once: a publish made
 * while disconnected is dropped by nats.js (it never reaches the server), and one in flight when
 * the server died is lost with it, so their acks never come. The relay keeps what was acked and
 * republishes the rest right away (same msg ids, so nothing is stored twice). Before, each such
 * batch waited out its ack timeout (5 s) and the retry delay: with nats-server restarted every
 * ~6 s (the crash matrix's "nats-server ×10 in 60 s") the tasks relay failed nine times in a row
 * and held every event back for 50 s — past an assignment's 30 s lease.
 *
 * One relay per service runs at a time: on the replica holding the service's lease (LeaseKeeper),
 * whose checkpoint saves are fenced by the lease's epoch (`PostgresCheckpointStore.fenced`). A
 * refused save (LeaseLost: the relay woke from a pause after a standby took over) stops the relay
 * at once. Its publishes cannot be fenced by Postgres, and need not be: each publish is either a
 * duplicate of an event already on the stream (dropped by `Nats-Msg-Id` within the duplicate
 * window) or, through the `Nats-Expected-Last-Msg-Id` chain, exactly the event after the stream's
 * last one — so a stale relay racing the new one can repeat an event but never reorder or skip one
 * (tested in event-relay.int.spec.ts with two relays at once).
 */
import type { Envelope } from '@agentyard/contracts';
import { AppendFollower, WakeSignal, type AppendSource } from '@agentyard/event-store';
import { JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { publishEvent } from './event-publisher';
import { ConnectionState } from './nats-connection';

/** Where a relay or projection remembers how far it got, by name. */
export interface CheckpointStore {
  /** The saved position, or 0n when nothing was saved under `name`. */
  load(name: string): Promise<bigint>;
  save(name: string, position: bigint): Promise<void>;
}

/** The part of the EventStore port the relay reads: the global log in order, after a position. */
export interface EventLogReader extends AppendSource {
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
  /** The connection `js` publishes on: after a reconnect, unacked publishes are sent again at once instead of after their ack timeout. */
  connection?: Pick<NatsConnection, 'status'>;
  /**
   * The stream capturing the relay's subjects, e.g. `TASKS`: checked at start for events it lost
   * after the checkpoint (see the module comment). Without it the checkpoint is trusted.
   */
  stream?: string;
  /** Subject of an event, e.g. `(e) => eventSubject('tasks', e.type, e.data.taskId)`. */
  subjectFor(event: Envelope): string;
  /** Events read and published per batch. Default 500. */
  batchSize?: number;
  /**
   * Least time between two checkpoint writes while events keep coming. Default 200 ms; keep it
   * far below the stream's duplicate window (10 minutes), which hides the repeats after a crash.
   */
  checkpointIntervalMs?: number;
  /** Longest wait between reads once caught up, when no append wakes the relay. Default 1 000 ms with a store that announces appends, else 100 ms. */
  pollIntervalMs?: number;
  /** Wait after a failed batch before trying again. Default 1 000 ms. */
  retryDelayMs?: number;
  /** Ack timeout per publish. Default 5 000 ms. */
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
  /** When to read again after catching up. */
  private readonly follower: AppendFollower;
  /** Ends a pause after a failed batch early: a stop, or the connection coming back. */
  private readonly retryNow = new WakeSignal();
  private published: bigint | undefined;
  private saved: bigint | undefined;
  private savedAt = Number.NEGATIVE_INFINITY;
  /** Id of the last event this run saw acked: the expectation of the next publish. */
  private lastId: string | undefined;
  /** Says when `connection` reconnects. */
  private readonly connectionState: ConnectionState | undefined;

  constructor(private readonly options: EventRelayOptions) {
    this.connectionState = options.connection ? ConnectionState.of(options.connection) : undefined;
    this.follower = new AppendFollower(options.store, { idleMs: options.pollIntervalMs ?? 1_000, pollMs: options.pollIntervalMs ?? 100 });
  }

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
    this.follower.interrupt();
    this.retryNow.signal();
    await this.running;
    this.running = undefined;
  }

  private async run(): Promise<void> {
    const { name, store, checkpoints } = this.options;
    const batchSize = this.options.batchSize ?? 500;
    const checkpointIntervalMs = this.options.checkpointIntervalMs ?? 200;
    await this.follower.open();
    let failed = false;
    try {
      while (!this.stopping) {
        try {
          if (this.published === undefined) {
            const saved = await checkpoints.load(name);
            this.published = await this.resumeFrom(saved);
            this.saved = saved;
          }
          this.follower.reading();
          const events = await store.readAll({ fromPosition: this.published, limit: batchSize });
          const complete = await this.publishInOrder(events);
          failed = false;
          // Only after every publish above was acked.
          if (this.published !== this.saved && (this.stopping || performance.now() - this.savedAt >= checkpointIntervalMs)) await this.saveCheckpoint();
          if (complete && events.length < batchSize && !this.stopping) await this.follower.caughtUp(this.published);
        } catch (error) {
          failed = true;
          this.options.onError?.(error);
          if (error instanceof Error && error.name === 'LeaseLost') {
            // Another replica holds the service's lease now: its relay carries on from the checkpoint.
            this.logError(`event relay ${name} stopped: ${error.message}`);
            this.stopping = true;
            break;
          }
          this.logError(`event relay ${name} failed after position ${String(this.published)}, retrying: ${(error as Error)?.message ?? String(error)}`);
          await this.pauseAfterFailure(this.options.retryDelayMs ?? 1_000);
        }
      }
      // Stopped while waiting: what was acked since the last write is saved now. (After a
      // failed batch nothing is saved; the next start republishes from the last checkpoint.)
      if (!failed && this.published !== undefined && this.published !== this.saved) {
        await this.saveCheckpoint().catch((error: unknown) =>
          this.logError(`event relay ${name} could not save its checkpoint on stop: ${(error as Error)?.message ?? String(error)}`),
        );
      }
    } finally {
      await this.follower.close();
    }
  }

  /** Where to resume: the checkpoint, or earlier when the stream lost events after it. */
  private async resumeFrom(checkpoint: bigint): Promise<bigint> {
    const { stream, js } = this.options;
    if (!stream || checkpoint === 0n) return checkpoint;
    const jsm = await js.jetstreamManager();
    let state: { messages: number; last_seq: number };
    try {
      state = (await jsm.streams.info(stream)).state;
    } catch (error) {
      // Not there (yet): whoever creates it gets it empty, so everything goes out again.
      if (error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND) return this.rewound(stream, checkpoint, 0n);
      throw error;
    }
    if (state.messages === 0) return state.last_seq === 0 ? this.rewound(stream, checkpoint, 0n) : checkpoint;
    const last = await jsm.streams.getMessage(stream, { seq: state.last_seq });
    const position = last?.json<Envelope>().globalPosition;
    if (position === undefined || BigInt(position) >= checkpoint) return checkpoint;
    return this.rewound(stream, checkpoint, BigInt(position));
  }

  private rewound(stream: string, checkpoint: bigint, position: bigint): bigint {
    this.logError(
      `event relay ${this.options.name}: stream ${stream} ends at position ${position}, before the checkpoint ${checkpoint} — it lost events (a nats-server restart without its data, or a recreated stream); republishing from there`,
    );
    return position;
  }

  private logError(message: string): void {
    (this.options.logger ?? console).error(message);
  }

  private async saveCheckpoint(): Promise<void> {
    const position = this.published!;
    await this.options.checkpoints.save(this.options.name, position);
    this.saved = position;
    this.savedAt = performance.now();
  }

  /**
   * Publishes `events` pipelined and advances `published` over the acked prefix. Returns false
   * when a publish was refused only because an earlier one of the batch was lost, or was still
   * unacked when the connection came back (read again at once); throws on any other failure,
   * after advancing over what was acked.
   */
  private async publishInOrder(events: Envelope[]): Promise<boolean> {
    const { js, subjectFor } = this.options;
    const acks: Array<Promise<unknown>> = [];
    /** Outcomes known so far, by index (the rest are still waiting for their ack). */
    const settled: Array<PromiseSettledResult<unknown> | undefined> = [];
    let failure: unknown;
    try {
      for (const event of events) {
        if (this.stopping) break;
        const i = acks.length;
        const expectLastMsgId = i === 0 ? this.lastId : events[i - 1]!.id;
        acks.push(
          publishEvent(js, subjectFor(event), event, { timeoutMs: this.options.publishTimeoutMs, attempts: 1, expectLastMsgId }).then(
            (value) => (settled[i] = { status: 'fulfilled', value }),
            (reason: unknown) => (settled[i] = { status: 'rejected', reason }),
          ),
        );
      }
    } catch (error) {
      failure = error; // e.g. subjectFor threw: what was sent before still counts
    }
    // Every ack, or (given the connection) its next reconnect, after which the unacked ones never answer.
    const all = Promise.all(acks);
    await (this.connectionState?.raceReconnect(all) ?? all);
    for (let i = 0; i < acks.length; i++) {
      const outcome = settled[i];
      if (outcome === undefined) {
        // Still unacked at a reconnect: presumed lost with the old connection; sent again from here.
        this.lastId = undefined;
        return false;
      }
      if (outcome.status === 'rejected') {
        // The server's last id may be unknown (its restart) or another event's: start over without it.
        this.lastId = undefined;
        if (failure === undefined && isWrongLastMsgId(outcome.reason)) return false;
        throw failure ?? outcome.reason;
      }
      this.published = positionOf(events[i]!);
      this.lastId = events[i]!.id;
    }
    if (failure !== undefined) throw failure;
    return true;
  }

  /** Waits `ms` before the next try, or less when stopped or when the connection comes back (appends do not shorten it). */
  private async pauseAfterFailure(ms: number): Promise<void> {
    this.retryNow.clear();
    if (this.stopping) return;
    const forget = this.connectionState?.onNextReconnect(() => this.retryNow.signal());
    try {
      await this.retryNow.wait(ms);
    } finally {
      forget?.();
    }
  }
}

/** JetStream API error code: stream not found. */
const STREAM_NOT_FOUND = 10059;

/** The server refused a publish whose expected previous message is not the stream's last. */
function isWrongLastMsgId(error: unknown): boolean {
  return error instanceof Error && /wrong last msg ?id/i.test(error.message);
}

function positionOf(event: Envelope): bigint {
  if (event.globalPosition === undefined) throw new Error(`event ${event.id} was read without a globalPosition: the store adapter must set it`);
  return BigInt(event.globalPosition);
}
