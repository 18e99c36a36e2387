/*
 * The gateway's view of the event streams: one ordered (ephemeral) JetStream consumer per
 * context stream, starting at "now". It is an edge cache for live pushes, not a record: a
 * dashboard that reconnects reloads state through the API, so nothing here needs to be durable.
 * It runs only while someone listens (LiveEventsHub starts it for the first WebSocket and stops
 * it after the last one): following every stream costs the gateway and nats-server a delivery
 * and a parse per event, for nobody.
 */
import { Logger } from '@nestjs/common';
import { DeliverPolicy, jetstream, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { envelopeSchema, type Envelope } from '@agentyard/contracts';

export type EventListener = (event: Envelope) => void;

/** One start…stop of the feed. */
interface Run {
  stopped: boolean;
  messages: ConsumerMessages[];
  ready: Promise<void>;
}

export class EventFeed {
  private readonly logger = new Logger('EventFeed');
  private readonly listeners = new Set<EventListener>();
  private run: Run | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly streams: string[],
  ) {}

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get following(): boolean {
    return this.run !== undefined;
  }

  /**
   * Follows every stream from now on (a no-op while following). Resolves once each stream's
   * consumer exists, so an event published after that is delivered; a stream that does not exist
   * yet (it has no events to miss) is retried every second until it does.
   */
  start(): Promise<void> {
    if (!this.run) {
      const run: Run = { stopped: false, messages: [], ready: Promise.resolve() };
      run.ready = Promise.all(this.streams.map((stream) => new Promise<void>((ready) => void this.follow(stream, run, ready)))).then(() => undefined);
      this.run = run;
    }
    return this.run.ready;
  }

  /** Stops following (start again later: events in between are not delivered). */
  async stop(): Promise<void> {
    const run = this.run;
    this.run = undefined;
    if (!run) return;
    run.stopped = true;
    await Promise.all(run.messages.map((m) => m.close()));
  }

  private async follow(stream: string, run: Run, ready: () => void): Promise<void> {
    const js = jetstream(this.nc);
    while (!run.stopped) {
      try {
        const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.New });
        const messages = await consumer.consume();
        run.messages.push(messages);
        ready();
        if (run.stopped) {
          await messages.close(); // stopped while the consumer was being created
          return;
        }
        for await (const m of messages) {
          const parsed = envelopeSchema.safeParse(m.json());
          if (!parsed.success) {
            this.logger.warn(`skipping a malformed event on ${m.subject}`);
            continue;
          }
          for (const listener of this.listeners) listener(parsed.data as Envelope);
        }
      } catch (e) {
        ready();
        if (run.stopped) return;
        this.logger.debug(`waiting for stream ${stream}: ${e instanceof Error ? e.message : String(e)}`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }
}
