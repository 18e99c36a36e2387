/*
 * The gateway's view of the event streams: one ordered (ephemeral) JetStream consumer per
 * context stream, starting at "now". It is an edge cache for live pushes, not a record: a
 * dashboard that reconnects reloads state through the API, so nothing here needs to be durable.
 */
import { Logger } from '@nestjs/common';
import { DeliverPolicy, jetstream, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { envelopeSchema, type Envelope } from '@agentyard/contracts';

export type EventListener = (event: Envelope) => void;

export class EventFeed {
  private readonly logger = new Logger('EventFeed');
  private readonly listeners = new Set<EventListener>();
  private readonly running: ConsumerMessages[] = [];
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly streams: string[],
  ) {}

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts following every stream; a stream that does not exist yet is retried until it does. */
  start(): void {
    for (const stream of this.streams) void this.follow(stream);
  }

  private async follow(stream: string): Promise<void> {
    const js = jetstream(this.nc);
    while (!this.stopped) {
      try {
        const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.New });
        const messages = await consumer.consume();
        this.running.push(messages);
        for await (const m of messages) {
          const parsed = envelopeSchema.safeParse(m.json());
          if (!parsed.success) {
            this.logger.warn(`skipping a malformed event on ${m.subject}`);
            continue;
          }
          for (const listener of this.listeners) listener(parsed.data as Envelope);
        }
      } catch (e) {
        if (this.stopped) return;
        this.logger.debug(`waiting for stream ${stream}: ${e instanceof Error ? e.message : String(e)}`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running.map((m) => m.close()));
  }
}
