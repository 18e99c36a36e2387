/*
 * The `worker-liveness` KV bucket: key = worker id, value = the latest Heartbeat JSON. It is the
 * published liveness contract (allocation watches it for free slots and load). Entries expire
 * through the bucket's TTL (`max_age`): nats-server 2.9 honours that, not per-key TTL
 * (platform-notes.md). History 1: only the latest heartbeat matters.
 */
import { workerLivenessBucket, type Heartbeat } from '@agentyard/contracts';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

export class LivenessBucket {
  private constructor(private readonly kv: KV) {}

  /**
   * Opens the bucket, creating it with `ttlMs` when absent. An existing bucket keeps its config;
   * `onMismatch` hears about a TTL or history that differs from ours.
   */
  static async open(nc: NatsConnection, ttlMs: number, onMismatch?: (message: string) => void): Promise<LivenessBucket> {
    const kv = await new Kvm(nc).create(workerLivenessBucket, { ttl: ttlMs, history: 1 });
    const status = await kv.status();
    if (status.ttl !== ttlMs || status.history !== 1) {
      onMismatch?.(`KV bucket ${workerLivenessBucket} has ttl ${status.ttl} ms and history ${status.history}; asked for ${ttlMs} ms and 1`);
    }
    return new LivenessBucket(kv);
  }

  async put(heartbeat: Heartbeat): Promise<void> {
    await this.kv.put(heartbeat.workerId, JSON.stringify(heartbeat));
  }

  async delete(workerId: string): Promise<void> {
    await this.kv.delete(workerId);
  }
}
