/*
 * Publishing an event envelope to JetStream. Invariant: the `Nats-Msg-Id` is the event id, and a
 * publish whose ack timed out is retried with that same id — it may have been stored already,
 * and the stream's duplicate window turns the retry into a no-op instead of a second copy.
 * A new id on retry would be the one way to duplicate an event on the stream.
 * Tested in messaging.int.spec.ts ("a duplicate Nats-Msg-Id publish is delivered once").
 */
import type { Envelope } from '@agentyard/contracts';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { errors, headers as natsHeaders } from '@nats-io/transport-node';
import { injectTrace } from './trace-context';

/** Options of `publishEvent`. */
export interface PublishEventOptions {
  /** Wait for the stream's ack this long per attempt. Default 5 000 ms. */
  timeoutMs?: number;
  /** Attempts in all when the ack times out or no server answers (restart). Default 3. */
  attempts?: number;
  /** Parent trace; default: the current handler's trace, else the event's metadata.traceparent. */
  traceparent?: string;
  /** Extra headers. */
  headers?: Record<string, string>;
  /** Store the event only if the stream's last message has this msg id (ordered pipelining). */
  expectLastMsgId?: string;
}

/** Header carrying the event type, so tools and dead-letter readers need not parse the body. */
export const EVENT_TYPE_HEADER = 'Agentyard-Event-Type';

/** Publishes `envelope` as JSON with `Nats-Msg-Id` = `envelope.id`; retries keep that id. */
export async function publishEvent(js: JetStreamClient, subject: string, envelope: Envelope, options: PublishEventOptions = {}): Promise<PubAck> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const hdrs = natsHeaders();
  for (const [k, v] of Object.entries(options.headers ?? {})) hdrs.set(k, v);
  hdrs.set(EVENT_TYPE_HEADER, envelope.type);
  injectTrace(hdrs, options.traceparent, envelope.metadata?.traceparent);
  const payload = JSON.stringify(envelope);
  for (let attempt = 1; ; attempt++) {
    try {
      return await js.publish(subject, payload, {
        msgID: envelope.id,
        timeout: options.timeoutMs ?? 5_000,
        headers: hdrs,
        expect: options.expectLastMsgId === undefined ? undefined : { lastMsgID: options.expectLastMsgId },
      });
    } catch (error) {
      if (!isRetryable(error) || attempt >= attempts) throw describe(error, subject, envelope.id);
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/** A timeout (the message may be stored) or no responders (server restarting, or no stream). */
function isRetryable(error: unknown): boolean {
  return error instanceof errors.TimeoutError || isNoResponders(error);
}

/** The client reports "no responders" on a JetStream publish as a `JetStreamNotEnabled` error. */
function isNoResponders(error: unknown): boolean {
  return error instanceof Error && error.name === 'JetStreamNotEnabled';
}

function describe(error: unknown, subject: string, id: string): unknown {
  if (isNoResponders(error)) {
    return new Error(`cannot publish event ${id} to ${subject}: no stream captures the subject or JetStream is unavailable`, { cause: error });
  }
  if (error instanceof errors.TimeoutError) {
    return new Error(`cannot publish event ${id} to ${subject}: no ack from JetStream`, { cause: error });
  }
  return error;
}
