/*
 * Keeps the latest heartbeat of every worker in memory by watching the `worker-liveness` KV
 * bucket (all last values first, then updates). The bucket belongs to the workers service: we
 * never create it. Until it exists — allocation may boot first — and whenever the watch ends
 * (server restart), we retry every `retryMs`.
 */
import { heartbeatSchema, type Heartbeat } from '@agentyard/contracts';
import { Kvm, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import { freesCapacity, type LiveHeartbeats } from '../application/live-heartbeats';

export interface HeartbeatWatcherOptions {
  bucket: string;
  /** Wait before watching again after a failure or the end of a watch. Default 1 000 ms. */
  retryMs?: number;
  logger: { warn(message: string): void; info(message: string): void };
}

export class HeartbeatWatcher implements LiveHeartbeats {
  private readonly latest = new Map<string, Heartbeat>();
  private readonly listeners: ((workerId: string) => void)[] = [];
  private iterator: QueuedIterator<KvWatchEntry> | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private warned = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: HeartbeatWatcherOptions,
  ) {}

  get(workerId: string): Heartbeat | undefined {
    return this.latest.get(workerId);
  }

  onCapacityFreed(listener: (workerId: string) => void): void {
    this.listeners.push(listener);
  }

  /** Watches (again, after a stop: allocation's lease came back to this replica). */
  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.running = this.run().finally(() => (this.running = undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.iterator?.stop();
    this.wake?.();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const kv = await new Kvm(this.nc).open(this.options.bucket);
        await kv.status(); // fails when the bucket does not exist yet
        this.iterator = await kv.watch();
        if (this.warned) this.options.logger.info(`watching KV bucket ${this.options.bucket}`);
        this.warned = false;
        for await (const entry of this.iterator) {
          if (this.stopped) break;
          this.apply(entry);
        }
      } catch (error) {
        if (!this.warned && !this.stopped) {
          this.options.logger.warn(`cannot watch KV bucket ${this.options.bucket} yet (retrying): ${(error as Error).message}`);
          this.warned = true;
        }
      }
      if (!this.stopped) await this.pause(this.options.retryMs ?? 1_000);
    }
  }

  private apply(entry: KvWatchEntry): void {
    if (entry.operation !== 'PUT') {
      this.latest.delete(entry.key);
      return;
    }
    let parsed: unknown;
    try {
      parsed = entry.json();
    } catch {
      return;
    }
    const result = heartbeatSchema.safeParse(parsed);
    if (!result.success) return;
    const previous = this.latest.get(entry.key);
    this.latest.set(entry.key, result.data);
    if (freesCapacity(previous, result.data)) for (const listener of this.listeners) listener(entry.key);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
