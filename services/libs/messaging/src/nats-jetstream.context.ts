/*
 * What a handler can learn about the message it is handling, via Nest's `@Ctx()`.
 * `getDeliveryCount()` is for logs and metrics only: JetStream's count can repeat or restart
 * after a server crash (ack state is flushed ~10×/s), so it is never a task attempt number —
 * attempts and fences live in the event store.
 */
import { BaseRpcContext } from '@nestjs/microservices';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { TraceContext } from './trace-context';

type RequestArgs = [subject: string, headers: MsgHdrs | undefined, trace: TraceContext];

/** Context of a `@MessagePattern` handler (core NATS request/reply). */
export class NatsRequestContext extends BaseRpcContext<RequestArgs> {
  /** The subject the request was sent to. */
  getSubject(): string {
    return this.args[0];
  }
  /** The request's NATS headers, if any. */
  getHeaders(): MsgHdrs | undefined {
    return this.args[1];
  }
  /** One header's value, or undefined. */
  getHeader(name: string): string | undefined {
    return this.args[1]?.get(name) || undefined;
  }
  /** The handler's trace (a child span of the caller's traceparent). */
  getTrace(): TraceContext {
    return this.args[2];
  }
}

/** Where a JetStream message came from and how often it was delivered. */
export interface JetStreamDelivery {
  stream: string;
  consumer: string;
  streamSequence: number;
  /** 1 on the first delivery. Never use as a task attempt number (see module comment). */
  deliveryCount: number;
  /** Deliveries after which a failing message is dead-lettered. */
  maxDeliver: number;
}

type EventArgs = [subject: string, headers: MsgHdrs | undefined, trace: TraceContext, delivery: JetStreamDelivery];

/** Context of an `@EventPattern` handler (a durable JetStream pull consumer). */
export class JetStreamEventContext extends BaseRpcContext<EventArgs> {
  /** The subject the event was published on. */
  getSubject(): string {
    return this.args[0];
  }
  /** The message's NATS headers, if any. */
  getHeaders(): MsgHdrs | undefined {
    return this.args[1];
  }
  /** One header's value, or undefined. */
  getHeader(name: string): string | undefined {
    return this.args[1]?.get(name) || undefined;
  }
  /** The handler's trace (a child span of the publisher's traceparent). */
  getTrace(): TraceContext {
    return this.args[2];
  }
  /** Stream, consumer, sequence and delivery count of this delivery. */
  getDelivery(): JetStreamDelivery {
    return this.args[3];
  }
  /** Deliveries so far, 1 on the first. For logs only: never a task attempt number. */
  getDeliveryCount(): number {
    return this.args[3].deliveryCount;
  }
}

/** One message of a batch handed to a `{ batch: true }` consumer's handler. */
export interface EventBatchItem {
  /** The parsed JSON body. */
  data: unknown;
  subject: string;
  headers: MsgHdrs | undefined;
  delivery: JetStreamDelivery;
}

/**
 * What a batch handler returns: per item (same index), undefined when it was handled, else why it
 * failed (that item is nak'd and redelivered; the others are acked). void = all handled.
 */
export type EventBatchResult = Array<unknown> | void;
