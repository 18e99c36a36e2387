/*
 * Reports (`started`, `stalled`, `finished`) go to JetStream on `work.report.<workerId>` and are retried until
 * the stream acknowledges them: the platform's task state depends on them. Each report carries the
 * msg id `<taskId>:<attempt>:<kind>`, so a retry of a publish that timed out but was stored is a
 * duplicate the stream drops (platform-notes: retry with the same id, never a new one).
 *
 * Order is kept per attempt, not across attempts: an attempt's reports leave one after another
 * (its `started` is stored before its `finished` is sent, retries included), while different
 * attempts' reports are published at once. One queue for all of them made a busy agent's reports
 * wait for every other attempt's acknowledgement in turn, so the time from an exit to its report
 * grew with the number of slots; and one report retried against a struggling stream held back all
 * the others.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { workReportSchema, type WorkReport } from '@agentyard/contracts/agent';
import { describeError, type Logger } from '../logging/logger';
import { abortableSleep } from '../system/abortable-sleep';
import type { NatsLink } from './nats-link';

export interface ReportOutboxOptions {
  /** Wait for each PubAck. Default 5 s. */
  publishTimeoutMs?: number;
  /** Retry backoff, doubling from min to max. Defaults 250 ms → 5 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /**
   * The connection `js` publishes on. With it a report waits while the link is down (up to the
   * ack timeout) and is sent again at once at a reconnect that comes before its ack: nats.js drops
   * what is sent while disconnected, which cost a whole ack timeout per restart.
   */
  link?: NatsLink;
}

/** The msg id that makes a report's retries duplicates of each other (an attempt may stall more than once: each stall has its own). */
export function reportMsgId(report: WorkReport): string {
  const base = `${report.taskId}:${report.attempt}:${report.kind}`;
  return report.kind === 'stalled' ? `${base}:${report.at}` : base;
}

export class ReportOutbox {
  /** Per attempt (`<taskId>:<attempt>`), the last report queued: the next one of that attempt waits for it. */
  private readonly tails = new Map<string, Promise<void>>();
  private pending = 0;
  private readonly abort = new AbortController();

  constructor(
    private readonly js: JetStreamClient,
    private readonly subject: string,
    private readonly logger: Logger,
    private readonly options: ReportOutboxOptions = {},
  ) {}

  /** Queues a report; resolves true once JetStream has stored it, false if the outbox was closed first. Never rejects. */
  send(report: WorkReport): Promise<boolean> {
    const checked = workReportSchema.safeParse(report);
    if (!checked.success) {
      // Our own bug; the platform would reject it too. Say so loudly instead of retrying forever.
      this.logger.error(`dropping an invalid ${report.kind} report for ${report.taskId}:${report.attempt}: ${checked.error.message}`);
      return Promise.resolve(false);
    }
    this.pending++;
    const key = `${checked.data.taskId}:${checked.data.attempt}`;
    const sent = (this.tails.get(key) ?? Promise.resolve())
      .then(() => this.publishUntilAcked(checked.data))
      .then(
        () => true,
        () => false,
      );
    const tail = sent.then(() => {
      this.pending--;
      // The attempt's chain ends here unless another report joined it meanwhile.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    this.tails.set(key, tail);
    return sent;
  }

  /** Number of reports not yet acknowledged. */
  get size(): number {
    return this.pending;
  }

  /** Resolves when every queued report is stored, or after `timeoutMs`; true if all were stored. */
  async flush(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const done = Promise.all(this.tails.values()).then(() => true as const);
    const result = await Promise.race([done, timedOut]);
    clearTimeout(timer);
    return result && this.pending === 0;
  }

  /** Stops retrying; reports still queued are abandoned (the platform's lease and timeouts recover). */
  close(): void {
    this.abort.abort(new Error('report outbox closed'));
  }

  private async publishUntilAcked(report: WorkReport): Promise<void> {
    const msgID = reportMsgId(report);
    const payload = JSON.stringify(report);
    const timeout = this.options.publishTimeoutMs ?? 5_000;
    const { link } = this.options;
    let delay = this.options.retryMinMs ?? 250;
    for (let attempt = 1; ; attempt++) {
      this.abort.signal.throwIfAborted();
      if (link && !link.connected) await link.untilReconnect(abortableSleep(timeout, this.abort.signal).catch(() => undefined));
      try {
        const ack = this.js.publish(this.subject, payload, { msgID, timeout });
        if (link && (await link.untilReconnect(ack)) === 'reconnected') {
          ack.catch(() => undefined); // its timeout comes later, to nobody
          continue; // sent again at once, under the same msg id
        }
        await ack;
        if (attempt > 1) this.logger.info(`report ${msgID} stored after ${attempt} attempts`);
        return;
      } catch (error) {
        this.abort.signal.throwIfAborted();
        this.logger.warn(`report ${msgID} not stored (${describeError(error)}); retrying in ${delay} ms`);
        await abortableSleep(delay, this.abort.signal);
        delay = Math.min(delay * 2, this.options.retryMaxMs ?? 5_000);
      }
    }
  }
}
