/*
 * The event store port on KurrentDB (EventStoreDB) through @kurrent/kurrentdb-client.
 *
 * KurrentDB orders `$all` itself: an event's commit position is fixed when its append is
 * acknowledged and only grows, so readAll/subscribeToAll deliver positions in strictly increasing
 * order without the visibility horizon the Postgres adapter needs. Resuming from a position uses
 * it as both commit and prepare position and skips anything at or before it, so a resumed
 * subscription neither repeats nor skips. System events (`$` types and streams) are filtered out.
 * Expected-version mapping and idempotent retries follow KurrentDB's own rules (same event ids at
 * the same expected version are acknowledged without a second write). Proven by the shared
 * contract suite when KURRENTDB_URL is set (kurrentdb-event-store.int.spec.ts).
 */
import type { Envelope, NewEvent } from '@agentyard/contracts';
import type * as Kurrent from '@kurrent/kurrentdb-client';
import type { AllStreamResolvedEvent, KurrentDBClient, ReadPosition } from '@kurrent/kurrentdb-client';
import {
  VersionConflict,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ReadAllOptions,
  type ReadStreamOptions,
  type SubscribeOptions,
  type Subscription,
} from '../event-store.port';
import { fromCurrentState, isSystemEvent, toEnvelope, toEventData, toStreamState, versionOfRevision } from './kurrentdb-mapping';

type KurrentModule = typeof Kurrent;

/** Loads the client library on first use: importing this package must stay cheap for Postgres users. */
function loadKurrent(): Promise<KurrentModule> {
  return import('@kurrent/kurrentdb-client');
}

const START: typeof Kurrent.START = 'start';

function readPositionAfter(position: bigint): ReadPosition {
  return position <= 0n ? START : { commit: position, prepare: position };
}

/** Our envelope for a `$all` event, or undefined for what the port never shows (system events, links). */
function fromAll(resolved: AllStreamResolvedEvent, after: bigint): Envelope | undefined {
  const event = resolved.event;
  if (!event || isSystemEvent(event)) return undefined;
  const position = event.position.commit;
  if (position <= after) return undefined;
  return toEnvelope(event, position);
}

/** Event store on a KurrentDB server; see the module comment for its ordering guarantees. */
export class KurrentDbEventStore implements EventStore {
  private readonly subscriptions = new Set<KurrentDbSubscription>();

  private constructor(
    private readonly kurrent: KurrentModule,
    private readonly client: KurrentDBClient,
    private readonly ownsClient: boolean,
  ) {}

  /** Connects with a KurrentDB connection string (`kurrentdb://host:2113?tls=false`); close() disposes the client. */
  static async connect(connectionString: string): Promise<KurrentDbEventStore> {
    const kurrent = await loadKurrent();
    return new KurrentDbEventStore(kurrent, kurrent.KurrentDBClient.connectionString(connectionString), true);
  }

  /** Uses a caller's client; close() leaves it open. */
  static async fromClient(client: KurrentDBClient): Promise<KurrentDbEventStore> {
    return new KurrentDbEventStore(await loadKurrent(), client, false);
  }

  async appendToStream(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const expected = options.expectedVersion ?? 'any';
    try {
      const result = await this.client.appendToStream(streamId, events.map(toEventData), { streamState: toStreamState(expected) });
      return {
        nextExpectedVersion: versionOfRevision(result.nextExpectedRevision),
        lastPosition: events.length > 0 ? (result.position?.commit ?? 0n) : 0n,
      };
    } catch (error) {
      if (error instanceof this.kurrent.WrongExpectedVersionError) {
        throw new VersionConflict(streamId, expected, fromCurrentState(error.actualState));
      }
      throw error;
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<Envelope[]> {
    const fromVersion = options.fromVersion ?? 1;
    const envelopes: Envelope[] = [];
    try {
      const events = this.client.readStream(streamId, {
        fromRevision: BigInt(Math.max(fromVersion, 1) - 1),
        ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
      });
      for await (const resolved of events) {
        if (resolved.event) envelopes.push(toEnvelope(resolved.event, resolved.event.position?.commit));
      }
    } catch (error) {
      if (error instanceof this.kurrent.StreamNotFoundError) return [];
      throw error;
    }
    return envelopes;
  }

  async readAll(options: ReadAllOptions = {}): Promise<Envelope[]> {
    const after = options.fromPosition ?? 0n;
    const limit = options.limit ?? 1000;
    const envelopes: Envelope[] = [];
    // +1: a read from a position includes the event at that position, which we skip.
    const events = this.client.readAll({ fromPosition: readPositionAfter(after), maxCount: limit + 1, filter: this.kurrent.excludeSystemEvents() });
    for await (const resolved of events) {
      const envelope = fromAll(resolved, after);
      if (envelope) envelopes.push(envelope);
      if (envelopes.length >= limit) break;
    }
    return envelopes;
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    const stream = this.client.subscribeToAll({
      fromPosition: readPositionAfter(options.fromCheckpoint ?? 0n),
      filter: this.kurrent.excludeSystemEvents(),
    });
    const subscription = new KurrentDbSubscription(stream, options, () => this.subscriptions.delete(subscription));
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    if (this.ownsClient) await this.client.dispose();
  }
}

/** A catch-up subscription to `$all`; handlers run one at a time, in order. */
class KurrentDbSubscription implements Subscription {
  private current: bigint;
  private stopping = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly stream: Kurrent.AllStreamSubscription,
    private readonly options: SubscribeOptions,
    onEnded: () => void,
  ) {
    this.current = options.fromCheckpoint ?? 0n;
    this.done = this.run().finally(onEnded);
  }

  get position(): bigint {
    return this.current;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.stream.unsubscribe().catch(() => undefined);
    await this.done;
  }

  private async run(): Promise<void> {
    try {
      for await (const resolved of this.stream) {
        if (this.stopping) break;
        const envelope = fromAll(resolved, this.current);
        if (!envelope) continue;
        await this.options.onEvent(envelope);
        this.current = BigInt(envelope.globalPosition ?? '0');
      }
    } catch (error) {
      if (this.stopping) return;
      const onError = this.options.onError ?? ((e: unknown) => process.emitWarning(`event store subscription stopped: ${String(e)}`));
      onError(error);
      await this.stream.unsubscribe().catch(() => undefined);
    }
  }
}
