/*
 * The dead-letter path. A message whose handler still fails on its last allowed delivery is
 * published, payload untouched, to `dlq.<stream>.<consumer>` (captured by the `DLQ` stream) with
 * headers saying where it came from and why it failed, and only then terminated on its consumer.
 * The dead letter's msg id is derived from (stream, consumer, sequence), so a repeat of this
 * path — e.g. after a server crash re-delivers the message — stores one dead letter, not two.
 * If the dead-letter publish fails the message is left unacked (never terminated), so it is not
 * lost. The server stops delivering a message whose last delivery was never settled (handler hung
 * past ack_wait, or the process died): the consumer's MAX_DELIVERIES advisory is the backstop
 * that dead-letters those, read from the stream by sequence. The server sends it only when it
 * next tries to deliver (a pull is waiting: a free slot, another instance, or this service after
 * a restart), and core-NATS advisories reach only subscribers connected at that moment.
 * Tested in messaging.int.spec.ts.
 */
import { deadLetterSubject } from '@agentyard/contracts';
import type { JetStreamClient, JsMsg, PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

/** Headers a dead letter carries besides the original message's own. */
export const deadLetterHeaders = {
  stream: 'Agentyard-Dlq-Stream',
  consumer: 'Agentyard-Dlq-Consumer',
  subject: 'Agentyard-Dlq-Subject',
  sequence: 'Agentyard-Dlq-Sequence',
  deliveries: 'Agentyard-Dlq-Deliveries',
  error: 'Agentyard-Dlq-Error',
  failedAt: 'Agentyard-Dlq-Failed-At',
  originalMsgId: 'Agentyard-Dlq-Original-Msg-Id',
} as const;

/** The message to dead-letter: where it is stored and what it holds. */
export interface DeadLetterSource {
  stream: string;
  /** Subject it was published on. */
  subject: string;
  /** Its stream sequence. */
  sequence: number;
  deliveries: number;
  data: Uint8Array;
  headers?: MsgHdrs;
}

/** The dead-letter source of a delivered JetStream message. */
export function deadLetterSourceOf(msg: JsMsg): DeadLetterSource {
  const { stream, streamSequence, deliveryCount } = msg.info;
  return { stream, subject: msg.subject, sequence: streamSequence, deliveries: deliveryCount, data: msg.data, headers: msg.headers };
}

/** Publishes a message to its consumer's dead-letter subject with origin and error headers. */
export async function publishDeadLetter(js: JetStreamClient, source: DeadLetterSource, consumer: string, reason: string): Promise<PubAck> {
  const hdrs = natsHeaders();
  for (const [key, values] of source.headers ?? []) {
    // Nats-* are JetStream directives (msg id, expectations) that must not apply to the copy.
    if (key.toLowerCase().startsWith('nats-')) continue;
    for (const value of values) hdrs.append(key, value);
  }
  const originalId = source.headers?.get('Nats-Msg-Id');
  if (originalId) hdrs.set(deadLetterHeaders.originalMsgId, originalId);
  hdrs.set(deadLetterHeaders.stream, source.stream);
  hdrs.set(deadLetterHeaders.consumer, consumer);
  hdrs.set(deadLetterHeaders.subject, source.subject);
  hdrs.set(deadLetterHeaders.sequence, String(source.sequence));
  hdrs.set(deadLetterHeaders.deliveries, String(source.deliveries));
  hdrs.set(deadLetterHeaders.error, headerSafe(reason));
  hdrs.set(deadLetterHeaders.failedAt, new Date().toISOString());
  const subject = deadLetterSubject(source.stream, consumer);
  // Same id whichever path dead-letters it (handler failure or max-deliveries advisory).
  const msgID = `dlq.${source.stream}.${consumer}.${source.sequence}`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await js.publish(subject, source.data, { msgID, headers: hdrs, timeout: 5_000 });
    } catch (error) {
      if (attempt >= 3) throw error;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/** Header values are one line of printable text; keep errors short. */
function headerSafe(text: string): string {
  const line = text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .trim();
  return (line || 'unknown error').slice(0, 1_000);
}
