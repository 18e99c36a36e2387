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
 *
 * A restarted nats-server has forgotten the pending pull. nats.js re-pulls on reconnect, but only
 * after a consumer info succeeds, and when that info fails (JetStream still recovering, or the
 * server gone again: nats-server flapping) it waits 15–45 s (its backoff is [expires] with
 * jitter) and ignores reconnects meanwhile: orders reached the agent ~34 s late in the crash
 * matrix's "nats-server ×10 in 60 s", past the 30 s assignment lease. So on every reconnect this
 * loop ends the batch itself (orders already received are still handled) and pulls again after
 * its own short retry (0.5 s, doubling to 10 s, reset by the next reconnect). Tested in
 * worker-agent.int.spec.ts.
 */
import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { describeError, type Logger } from '../logging/logger';
import { abortableSleep } from '../system/abortable-sleep';
import type { NatsLink } from './nats-link';

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

const firstRetryMs = 500;
const longestRetryMs = 10_000;

export class OrderConsumer {
  private consumer: Consumer | undefined;
  private batch: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private retryMs = firstRetryMs;
  /** Ends the retry wait early (a reconnect). */
  private retryWait: AbortController | undefined;
  /** Counts reconnects: a fetch that began before one is stale. */
  private reconnects = 0;

  constructor(
    private readonly link: NatsLink,
    private readonly js: JetStreamClient,
    private readonly logger: Logger,
    private readonly options: OrderConsumerOptions,
  ) {}

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
    this.watchReconnects();
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

  /** At every reconnect: look the consumer up again, end the pull and the retry wait, so a fresh pull goes out. */
  private watchReconnects(): void {
    if (this.stopped) return;
    this.link.onNextReconnect(() => {
      this.reconnects += 1;
      this.consumer = undefined; // look it up again before pulling: the server may not serve it yet
      this.retryMs = firstRetryMs;
      this.retryWait?.abort();
      void this.batch?.close().catch(() => undefined);
      this.watchReconnects();
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const generation = this.reconnects;
      try {
        this.consumer ??= await this.js.consumers.get(this.options.stream, this.options.durable);
        this.batch = await this.consumer.fetch({ max_messages: Math.max(1, this.options.batchSize()), expires: this.options.expiresMs ?? 30_000 });
        if (this.stopped || generation !== this.reconnects) await this.batch.close();
        for await (const msg of this.batch) await this.options.handle(msg);
        this.retryMs = firstRetryMs;
      } catch (error) {
        if (this.stopped) break;
        // The consumer may not exist yet (platform still provisioning) or NATS is reconnecting.
        this.consumer = undefined;
        this.logger.warn(
          `pulling work orders from ${this.options.stream}/${this.options.durable} failed (${describeError(error)}); retrying in ${this.retryMs} ms`,
        );
        this.retryWait = new AbortController();
        await abortableSleep(this.retryMs, AbortSignal.any([this.abort.signal, this.retryWait.signal])).catch(() => undefined);
        this.retryMs = Math.min(this.retryMs * 2, longestRetryMs);
      } finally {
        this.batch = undefined;
      }
    }
  }
}
