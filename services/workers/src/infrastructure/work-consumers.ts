/*
 * The WORK stream's durable consumer of each worker (`worker-<id>`, filter `work.assign.<id>`).
 * The workers service creates it at registration so the agent only consumes; it is re-ensured
 * when a worker comes online, which also repairs a consumer lost with a recreated stream.
 */
import {
  consumerConfigFor,
  defineConsumer,
  ensureConsumer,
  ensureStream,
  workStreamConfig,
  type ConsumerDeclaration,
  type ConsumerSpec,
} from '@agentyard/messaging';
import { assignmentAckWaitMs, workerConsumerName, workStream, workSubjects } from '@agentyard/contracts';
import { JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';

/** Deliveries of one assignment before the server gives up on it (tasks' lease covers the rest). */
export const assignmentMaxDeliver = 10;

/**
 * The declaration of a worker's consumer (consumer-declaration.ts in messaging): the agent pulls
 * it, nobody in this service handles it.
 */
export function workerAssignmentsConsumer(workerId: string): ConsumerDeclaration {
  return defineConsumer({
    stream: workStreamConfig(),
    durable: workerConsumerName(workerId),
    filterSubject: workSubjects.assign(workerId),
    ackWaitMs: assignmentAckWaitMs,
    maxDeliver: assignmentMaxDeliver,
  });
}

/** The consumer config a worker gets. */
export function workerConsumerConfig(workerId: string): ConsumerSpec {
  return consumerConfigFor(workerAssignmentsConsumer(workerId));
}

export class WorkConsumers {
  /** Workers whose consumer this process has verified since it started. */
  private readonly verified = new Set<string>();

  private constructor(private readonly jsm: JetStreamManager) {}

  /** Ensures the WORK stream with the shared config (the tasks service ensures the same one). */
  static async open(jsm: JetStreamManager): Promise<WorkConsumers> {
    await ensureStream(jsm, workStreamConfig());
    return new WorkConsumers(jsm);
  }

  /** Creates or repairs the worker's consumer; verifies the server holds what we asked. */
  async ensure(workerId: string): Promise<void> {
    await ensureConsumer(this.jsm, workStream.name, workerConsumerConfig(workerId));
    this.verified.add(workerId);
  }

  /** Like `ensure`, but at most once per process lifetime per worker (cheap on the heartbeat path). */
  async ensureOnce(workerId: string): Promise<void> {
    if (!this.verified.has(workerId)) await this.ensure(workerId);
  }

  /** Deletes the worker's consumer; absent is fine. */
  async remove(workerId: string): Promise<void> {
    this.verified.delete(workerId);
    try {
      await this.jsm.consumers.delete(workStream.name, workerConsumerName(workerId));
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === 10014)) throw error;
    }
  }
}
