/*
 * Watches what the agent publishes — reports, output chunks, heartbeats — on core NATS, and lets a
 * test await a matching message instead of sleeping. Every payload is checked against the
 * contracts schema on arrival, so a malformed message fails the test that caused it.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { heartbeatSchema, outputChunkSchema, workReportSchema, type Heartbeat, type OutputChunk, type WorkReport } from '@agentyard/contracts';

interface Waiter<T> {
  match(value: T): boolean;
  resolve(value: T): void;
}

class Channel<T> {
  readonly items: { at: number; value: T }[] = [];
  private waiters: Waiter<T>[] = [];

  push(value: T): void {
    this.items.push({ at: Date.now(), value });
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(value)) return true;
      w.resolve(value);
      return false;
    });
  }

  /** The first message (already seen or future) matching `match`. */
  waitFor(match: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    const seen = this.items.find((i) => match(i.value));
    if (seen) return Promise.resolve(seen.value);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
      });
    });
  }
}

export class WorkObserver {
  readonly reports = new Channel<WorkReport>();
  readonly output = new Channel<OutputChunk>();
  readonly heartbeats = new Channel<Heartbeat>();
  readonly invalid: string[] = [];
  private readonly subs: Subscription[];

  constructor(nc: NatsConnection) {
    this.subs = [
      this.watch(nc, 'work.report.>', (v) => this.reports.push(workReportSchema.parse(v))),
      this.watch(nc, 'work.output.>', (v) => this.output.push(outputChunkSchema.parse(v))),
      this.watch(nc, 'work.heartbeat.>', (v) => this.heartbeats.push(heartbeatSchema.parse(v))),
    ];
  }

  finished(taskId: string, attempt = 1, timeoutMs = 15_000): Promise<Extract<WorkReport, { kind: 'finished' }>> {
    return this.reports.waitFor(
      (r) => r.kind === 'finished' && r.taskId === taskId && r.attempt === attempt,
      timeoutMs,
      `finished ${taskId}:${attempt}`,
    ) as Promise<Extract<WorkReport, { kind: 'finished' }>>;
  }

  started(taskId: string, attempt = 1, timeoutMs = 15_000): Promise<WorkReport> {
    return this.reports.waitFor((r) => r.kind === 'started' && r.taskId === taskId && r.attempt === attempt, timeoutMs, `started ${taskId}:${attempt}`);
  }

  /** All output of one attempt so far, in seq order. */
  outputOf(taskId: string, attempt = 1): OutputChunk[] {
    return this.output.items
      .map((i) => i.value)
      .filter((c) => c.taskId === taskId && c.attempt === attempt)
      .sort((a, b) => a.seq - b.seq);
  }

  textOf(taskId: string, attempt = 1): string {
    return this.outputOf(taskId, attempt)
      .map((c) => c.data)
      .join('');
  }

  close(): void {
    for (const sub of this.subs) sub.unsubscribe();
  }

  private watch(nc: NatsConnection, subject: string, accept: (value: unknown) => void): Subscription {
    return nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error) return;
        try {
          accept(JSON.parse(msg.string()));
        } catch (e) {
          this.invalid.push(`${msg.subject}: ${(e as Error).message}`);
        }
      },
    });
  }
}
