/*
 * Publishes work orders (Assignment, Cancellation) to `work.assign.<workerId>` on the WORK
 * stream. Invariant: the Nats-Msg-Id is the id of the task event the order comes from, and a
 * publish whose ack timed out is retried with that same id — it may have been stored, and the
 * stream's duplicate window turns the retry (or a redelivered event) into a no-op, so a worker
 * never receives one order twice from us. Tested in test/tasks.int.spec.ts (repeated decisions,
 * restart).
 */
import { workOrderSchema, workSubjects, type WorkOrder } from '@agentyard/contracts';
import { injectTrace } from '@agentyard/messaging';
import type { JetStreamClient } from '@nats-io/jetstream';
import { errors, headers as natsHeaders } from '@nats-io/transport-node';

export interface WorkOrderPublisherOptions {
  /** Wait for the stream's ack this long per attempt. Default 5 000 ms. */
  timeoutMs?: number;
  /** Attempts in all when the ack times out or no server answers. Default 3. */
  attempts?: number;
}

export class WorkOrderPublisher {
  constructor(
    private readonly js: JetStreamClient,
    private readonly options: WorkOrderPublisherOptions = {},
  ) {}

  /** Publishes `order` to the worker's assignment subject with `Nats-Msg-Id` = `msgId`. */
  async publish(workerId: string, order: WorkOrder, msgId: string): Promise<void> {
    const subject = workSubjects.assign(workerId);
    const payload = JSON.stringify(workOrderSchema.parse(order));
    const hdrs = natsHeaders();
    injectTrace(hdrs);
    const attempts = Math.max(1, this.options.attempts ?? 3);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.js.publish(subject, payload, { msgID: msgId, timeout: this.options.timeoutMs ?? 5_000, headers: hdrs });
        return;
      } catch (error) {
        const retryable = error instanceof errors.TimeoutError || (error instanceof Error && error.name === 'JetStreamNotEnabled');
        if (!retryable || attempt >= attempts)
          throw new Error(`cannot publish ${order.kind} order ${msgId} to ${subject}: ${(error as Error).message}`, { cause: error });
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }
}
