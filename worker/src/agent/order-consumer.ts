/*
 * Pulls work orders (assignments and cancellations) from the worker's durable consumer
 * `worker-<id>` on the WORK stream. It fetches explicitly sized batches instead of a long-running
 * `consume()`, because the number of free slots changes all the time and a consume() buffer would
 * hold assignments we cannot start (their ack timer running) while slots are full.
 *
 * Batch size = free slots, but never less than 1: cancellations arrive on the same consumer, and a
 * full worker must still hear "cancel" for the tasks it runs. An assignment that arrives while
 * full is refused by the handler (reported handed_back), which is the agreed protocol.
 * An idle worker costs one pull request per `expiresMs` (default 30 s).
 */
import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { describeError, type Logger } from '../logging/logger';
import { abortableSleep } from '../system/abortable-sleep';

export interface OrderConsumerOptions {
  stream: string;
  durable: string;
  /** How many orders to fetch now (≥ 1). */
  batchSize(): number;
  /** Handles one delivery; must ack/term it (now or later) and must not throw. */
  handle(msg: JsMsg): Promise<void>;
  /** Pull request lifetime. Default 30 s (the client's default). */
  expiresMs?: number;
}

export class OrderConsumer {
  private consumer: Consumer | undefined;
  private batch: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly js: JetStreamClient,
    private readonly logger: Logger,
    private readonly options: OrderConsumerOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops pulling; orders already handed to `handle` are not waited for. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('order consumer stopped'));
    await this.batch?.close().catch(() => undefined);
    await this.loop;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    let delay = 500;
    while (!this.stopped) {
      try {
        this.consumer ??= await this.js.consumers.get(this.options.stream, this.options.durable);
        this.batch = await this.consumer.fetch({ max_messages: Math.max(1, this.options.batchSize()), expires: this.options.expiresMs ?? 30_000 });
        if (this.stopped) await this.batch.close();
        for await (const msg of this.batch) await this.options.handle(msg);
        delay = 500;
      } catch (error) {
        if (this.stopped) break;
        // The consumer may not exist yet (platform still provisioning) or NATS is reconnecting.
        this.consumer = undefined;
        this.logger.warn(`pulling work orders from ${this.options.stream}/${this.options.durable} failed (${describeError(error)}); retrying in ${delay} ms`);
        await abortableSleep(delay, this.abort.signal).catch(() => undefined);
        delay = Math.min(delay * 2, 10_000);
      } finally {
        this.batch = undefined;
      }
    }
  }
}
