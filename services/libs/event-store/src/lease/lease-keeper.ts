/*
 * Keeps one named lease for this process: a standby tries to acquire it every `retryEveryMs`, a
 * holder renews it every `renewEveryMs`, and the work that must run on one replica only is
 * started when the lease is acquired and stopped the moment it is lost (or the keeper stops,
 * which also releases the lease so a standby takes over at once rather than after the ttl).
 *
 * Ticks run one at a time; the role changes follow the pure rules of lease.decide.ts. The work
 * gets the tenure's LeaseFence: every database write it makes for the lease carries that epoch,
 * so a holder that was paused past its lease and wakes up has its writes refused even before its
 * next tick notices (tested in lease.int.spec.ts and services/gateway/test/high-availability.e2e.spec.ts).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  afterAcquire,
  afterRenew,
  afterStepDown,
  believesHeld,
  decideTick,
  DEFAULT_LEASE_SETTINGS,
  standby,
  type LeaseSettings,
  type LeaseState,
  type LeaseTransition,
} from './lease.decide';
import type { LeaseFence } from '../postgres/postgres-leases';

/** The singleton work of a lease: started on acquisition, stopped on loss. */
export interface LeaseWork {
  /** Starts the work; its writes for the lease carry `fence`. A throw steps down. */
  start(fence: LeaseFence): Promise<void>;
  /** Stops the work at once (it may no longer be the lease holder's). */
  stop(): Promise<void>;
}

/** The database side the keeper needs (PostgresLeases has it). */
export interface LeaseRepository {
  tryAcquire(name: string, holder: string, ttlMs: number): Promise<bigint | null>;
  renew(name: string, holder: string, epoch: bigint, ttlMs: number): Promise<boolean>;
  release(name: string, holder: string, epoch: bigint): Promise<boolean>;
}

/** Options of a LeaseKeeper. */
export interface LeaseKeeperOptions {
  leases: LeaseRepository;
  /** Lease name, e.g. `tasks-leader`. */
  name: string;
  /**
   * This process's holder id. A process that restarts with the same id takes the lease back at
   * once (new epoch) instead of waiting for its dead incarnation's to expire, so it must name one
   * live process at a time: the services use `<hostname>:<HTTP port>` (a pod name, a container's
   * hostname; a second process on the port could not listen). Default `<hostname>:<pid>:<random>`.
   */
  holder?: string;
  /** Default DEFAULT_LEASE_SETTINGS (ttl 3 s, renew every 1 s, retry every 300 ms). */
  settings?: LeaseSettings;
  work: LeaseWork;
  /** Default: console. */
  logger?: { info(message: string): void; warn(message: string): void };
  /** Monotonic clock in ms. Default performance.now(). */
  now?: () => number;
}

/** Acquires, renews and releases one lease, and runs its work while it is held. */
export class LeaseKeeper {
  readonly holder: string;
  private state: LeaseState = standby;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = true;
  private refused = 0;
  /** The work's start in progress: renewals go on meanwhile (a slow start must not let the lease lapse). */
  private starting: Promise<void> | undefined;
  /** A tenure whose work failed to start: the next tick steps down and releases it. */
  private failedEpoch: bigint | undefined;
  private readonly settings: LeaseSettings;
  private readonly now: () => number;
  private readonly changeListeners = new Set<() => void>();

  constructor(private readonly options: LeaseKeeperOptions) {
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.settings = options.settings ?? DEFAULT_LEASE_SETTINGS;
    this.now = options.now ?? (() => performance.now());
  }

  /** The lease's name. */
  get name(): string {
    return this.options.name;
  }

  /** True while this process holds the lease by its own (conservative) clock. */
  get holding(): boolean {
    return believesHeld(this.state, this.now());
  }

  /** The epoch this process holds, if it holds the lease. */
  get epoch(): bigint | undefined {
    return this.state.role === 'holder' ? this.state.epoch : undefined;
  }

  /** Writes of this process the database refused because their epoch was no longer current. */
  get refusedWrites(): number {
    return this.refused;
  }

  /** Calls `listener` after every change of role (for tests and logs). */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Starts ticking at once. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops ticking; a holder stops its work and releases the lease, so a standby takes it at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    if (this.state.role !== 'holder') return;
    const epoch = this.state.epoch;
    await this.apply(afterStepDown(this.state, 'released'));
    await this.options.leases.release(this.options.name, this.holder, epoch).catch((error: unknown) => {
      this.log('warn', `could not release epoch ${epoch} (a standby takes over when it expires): ${messageOf(error)}`);
    });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((error: unknown) => this.log('warn', `tick failed: ${messageOf(error)}`))
        .then((next) => this.schedule(typeof next === 'number' ? next : this.settings.retryEveryMs))
        .finally(() => (this.ticking = undefined));
    }, ms);
  }

  /** One move of the keeper; returns the wait before the next one. */
  private async tick(): Promise<number> {
    const { leases, name } = this.options;
    const { ttlMs } = this.settings;
    if (this.state.role === 'holder' && this.failedEpoch === this.state.epoch) {
      const epoch = this.state.epoch;
      await this.apply(afterStepDown(this.state, 'released'));
      await leases.release(name, this.holder, epoch).catch(() => undefined);
      return this.settings.retryEveryMs;
    }
    const move = decideTick(this.state, this.now(), this.settings);
    switch (move.kind) {
      case 'acquire': {
        const sentAt = this.now();
        const epoch = await leases.tryAcquire(name, this.holder, ttlMs).catch((error: unknown) => {
          this.log('warn', `acquire failed: ${messageOf(error)}`);
          return null;
        });
        await this.apply(afterAcquire(this.state, epoch, sentAt, this.settings));
        return this.state.role === 'holder' ? this.settings.renewEveryMs : move.nextInMs;
      }
      case 'renew': {
        const sentAt = this.now();
        const deadline = this.state.role === 'holder' ? this.state.validUntil : sentAt;
        // A renewal that hangs (a stalled pool) must not keep the keeper from stepping down.
        const renewed = await withTimeout(leases.renew(name, this.holder, move.epoch, ttlMs), Math.max(50, deadline - sentAt)).catch((error: unknown) => {
          this.log('warn', `renewal of epoch ${move.epoch} failed: ${messageOf(error)}`);
          return 'error' as const;
        });
        await this.apply(afterRenew(this.state, move.epoch, renewed, sentAt, this.settings));
        if (this.state.role !== 'holder') return this.settings.retryEveryMs;
        const next = decideTick(this.state, this.now(), this.settings);
        return next.kind === 'step-down' ? 0 : next.nextInMs;
      }
      case 'step-down':
        await this.apply(afterStepDown(this.state, move.reason));
        return 0;
    }
  }

  private async apply(next: { state: LeaseState; transition: LeaseTransition }): Promise<void> {
    this.state = next.state;
    const transition = next.transition;
    if (!transition) return;
    if (transition.kind === 'acquired') {
      this.log('info', `acquired, epoch ${transition.epoch} (holder ${this.holder})`);
      this.changed();
      const epoch = transition.epoch;
      const fence: LeaseFence = { lease: this.options.name, epoch, refused: () => this.refused++ };
      // Not awaited here: the ticks (renewals) go on while the work starts.
      this.starting = this.options.work.start(fence).catch((error: unknown) => {
        this.log('warn', `work failed to start under epoch ${epoch}, stepping down: ${messageOf(error)}`);
        this.failedEpoch = epoch; // the next tick steps down
      });
      return;
    }
    this.log(transition.reason === 'released' ? 'info' : 'warn', `lost epoch ${transition.epoch} (${transition.reason}); stopping its work`);
    this.changed();
    await this.starting; // a start in progress finishes first, so stop() stops all of it
    this.starting = undefined;
    await this.options.work.stop().catch((error: unknown) => this.log('warn', `work did not stop cleanly: ${messageOf(error)}`));
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  private log(level: 'info' | 'warn', message: string): void {
    (this.options.logger ?? console)[level](`lease ${this.options.name}: ${message}`);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(ms)} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
