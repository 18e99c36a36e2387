/*
 * Publishing to JetStream with an ack (`publishAcked`; `publishEvent` for an event envelope). Invariant: the `Nats-Msg-Id` is the event id, and a
 * publish whose ack timed out is retried with that same id — it may have been stored already,
 * and the stream's duplicate window turns the retry into a no-op instead of a second copy.
 * A new id on retry would be the one way to duplicate an event on the stream.
 * Tested in messaging.int.spec.ts ("a duplicate Nats-Msg-Id publish is delivered once").
 */
import type { Envelope } from '@agentyard/contracts';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { errors, headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { ConnectionState } from './nats-connection';
import { injectTrace } from './trace-context';

/** Options of `publishAcked`. */
export interface PublishAckedOptions {
  /** The `Nats-Msg-Id`: the same on every attempt, so a stored one's retry is a duplicate. */
  msgID: string;
  headers?: MsgHdrs;
  /** Wait for the stream's ack this long per attempt. Default 5 000 ms. */
  timeoutMs?: number;
  /** Attempts in all when the ack times out, no server answers (restart) or the connection came back first. Default 3. */
  attempts?: number;
  /** Store the message only if the stream's last message has this msg id (ordered pipelining). */
  expectLastMsgId?: string;
  /**
   * The connection `js` publishes on. With it, an attempt waits (up to its timeout) for a
   * disconnected connection to come back before publishing — nats.js drops what is published
   * while disconnected — and one whose ack has not come by the next reconnect is sent again at
   * once rather than after its timeout (ConnectionState).
   */
  connection?: Pick<NatsConnection, 'status'>;
}

/**
 * Publishes `payload` to JetStream and waits for the stream's ack; a timeout, no responders or a
 * reconnect is retried with the same msg id (`attempts` in all, 200 ms × attempt apart, at once
 * after a reconnect). Throws the last failure.
 */
export async function publishAcked(js: JetStreamClient, subject: string, payload: string, options: PublishAckedOptions): Promise<PubAck> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const timeout = options.timeoutMs ?? 5_000;
  const connection = options.connection ? ConnectionState.of(options.connection) : undefined;
  const expect = options.expectLastMsgId === undefined ? undefined : { lastMsgID: options.expectLastMsgId };
  for (let attempt = 1; ; attempt++) {
    if (connection && !connection.connected) await connection.whenConnected(timeout);
    try {
      const ack = js.publish(subject, payload, { msgID: options.msgID, timeout, headers: options.headers, expect });
      if (!connection) return await ack;
      const outcome = await connection.raceReconnect(ack);
      if (outcome !== 'reconnected') return outcome;
      ack.catch(() => undefined); // its timeout comes later, to nobody
      if (attempt >= attempts) throw new ReconnectedError(subject);
    } catch (error) {
      if (!isRetryable(error) || attempt >= attempts) throw error;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/** Options of `publishEvent`. */
export interface PublishEventOptions extends Omit<PublishAckedOptions, 'msgID' | 'headers'> {
  /** Parent trace; default: the current handler's trace, else the event's metadata.traceparent. */
  traceparent?: string;
  /** Extra headers. */
  headers?: Record<string, string>;
}

/** Header carrying the event type, so tools and dead-letter readers need not parse the body. */
export const EVENT_TYPE_HEADER = 'Agentyard-Event-Type';

/** Publishes `envelope` as JSON with `Nats-Msg-Id` = `envelope.id`; retries keep that id. */
export async function publishEvent(js: JetStreamClient, subject: string, envelope: Envelope, options: PublishEventOptions = {}): Promise<PubAck> {
  const hdrs = natsHeaders();
  for (const [k, v] of Object.entries(options.headers ?? {})) hdrs.set(k, v);
  hdrs.set(EVENT_TYPE_HEADER, envelope.type);
  injectTrace(hdrs, options.traceparent, envelope.metadata?.traceparent);
  try {
    return await publishAcked(js, subject, JSON.stringify(envelope), { ...options, msgID: envelope.id, headers: hdrs });
  } catch (error) {
    throw describe(error, subject, envelope.id);
  }
}

class ReconnectedError extends Error {
  constructor(subject: string) {
    super(`NATS reconnected before the ack of a publish to ${subject} came (it may have been lost)`);
    this.name = 'ReconnectedError';
  }
}

/** A timeout (the message may be stored), no responders (server restarting, or no stream) or a reconnect while waiting. */
function isRetryable(error: unknown): boolean {
  return error instanceof errors.TimeoutError || isNoResponders(error) || error instanceof ReconnectedError;
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
  if (error instanceof ReconnectedError) return new Error(`cannot publish event ${id}: ${error.message}`, { cause: error });
  return error;
}
