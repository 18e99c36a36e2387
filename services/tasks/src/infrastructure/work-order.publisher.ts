/*
 * Publishes work orders (Assignment, Cancellation) to `work.assign.<workerId>` on the WORK
 * stream. Invariant: the Nats-Msg-Id is the id of the task event the order comes from, and a
 * publish whose ack timed out is retried with that same id — it may have been stored, and the
 * stream's duplicate window turns the retry (or a redelivered event) into a no-op, so a worker
 * never receives one order twice from us. Tested in test/tasks.int.spec.ts (repeated decisions,
 * restart).
 */
import { workOrderSchema, workSubjects, type WorkOrder } from '@agentyard/contracts';
import { injectTrace, publishAcked } from '@agentyard/messaging';
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';

export interface WorkOrderPublisherOptions {
  /** Wait for the stream's ack this long per attempt. Default 5 000 ms. */
  timeoutMs?: number;
  /** Attempts in all when the ack times out, no server answers or NATS reconnected first. Default 3. */
  attempts?: number;
  /** The connection `js` publishes on: a publish waits for it to be back, and is sent again at a reconnect (publishAcked). */
  connection?: Pick<NatsConnection, 'status'>;
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
    const headers = natsHeaders();
    injectTrace(headers);
    try {
      await publishAcked(this.js, subject, payload, { ...this.options, msgID: msgId, headers });
    } catch (error) {
      throw new Error(`cannot publish ${order.kind} order ${msgId} to ${subject}: ${(error as Error).message}`, { cause: error });
    }
  }
}
