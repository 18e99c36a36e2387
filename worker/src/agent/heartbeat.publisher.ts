/*
 * Publishes a Heartbeat on `work.heartbeat.<workerId>` (core NATS) every `intervalMs`: load,
 * slots, running attempts, tools, draining, isolation. The workers service declares a worker offline after
 * 15 s of silence, so a beat is never skipped for slow sampling: if sampling fails, the beat goes
 * out with the last figures. Beats never overlap; `beatNow()` sends one at once (drain start).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { workSubjects, type Heartbeat, type WorkerIsolation } from '@agentyard/contracts/agent';
import { describeError, type Logger } from '../logging/logger';
import type { SystemSample, SystemSampler } from '../system/system-sampler';
import { agentVersion } from '../version';

export interface HeartbeatState {
  slots: { total: number; used: number };
  running: { taskId: string; attempt: number }[];
  draining: boolean;
  /** How tasks are isolated: the platform shows it and keeps others' tasks off an unisolated worker. */
  isolation: WorkerIsolation;
}

export class HeartbeatPublisher {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private last: SystemSample = { cpuPercent: 0, memUsedMb: 0, memTotalMb: 0, diskFreeMb: 0, diskTotalMb: 0 };

  constructor(
    private readonly nc: NatsConnection,
    private readonly workerId: string,
    private readonly tools: Heartbeat['tools'],
    private readonly sampler: SystemSampler,
    private readonly state: () => HeartbeatState,
    private readonly logger: Logger,
  ) {}

  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => void this.beatNow(), Math.max(250, intervalMs));
    void this.beatNow();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Sends one heartbeat now (joins one already being sent). */
  beatNow(): Promise<void> {
    this.inFlight ??= this.beat().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async beat(): Promise<void> {
    try {
      this.last = await this.sampler.sample();
    } catch (error) {
      this.logger.warn(`sampling load failed, sending last figures: ${describeError(error)}`);
    }
    const heartbeat: Heartbeat = {
      workerId: this.workerId,
      sentAt: new Date().toISOString(),
      ...this.last,
      ...this.state(),
      tools: this.tools,
      agentVersion,
    };
    try {
      // Core publish: the client buffers it while reconnecting; it throws only once closed or draining.
      this.nc.publish(workSubjects.heartbeat(this.workerId), JSON.stringify(heartbeat));
    } catch (error) {
      this.logger.debug(`heartbeat not sent: ${describeError(error)}`);
    }
  }
}
