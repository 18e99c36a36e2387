import type { Heartbeat } from '@agentyard/contracts';

/** Injection token of the LiveHeartbeats port. */
export const LIVE_HEARTBEATS = Symbol('LIVE_HEARTBEATS');

/**
 * The latest heartbeat of each worker (the published liveness contract: KV bucket
 * `worker-liveness`, written by the workers service). Held in memory; never stored by us.
 */
export interface LiveHeartbeats {
  /** The latest heartbeat of a worker, or undefined when none is live. */
  get(workerId: string): Heartbeat | undefined;
  /** Calls `listener` when a heartbeat shows a worker with more free capacity than before. */
  onCapacityFreed(listener: (workerId: string) => void): void;
}

/** Free slots a heartbeat reports. */
export function reportedFreeSlots(hb: Heartbeat): number {
  return hb.slots.total - Math.max(hb.slots.used, hb.running.length);
}

/**
 * True when `next` may let a task be placed that `previous` did not: new, a freed slot, undrained,
 * or now isolating tasks (an unisolated worker takes only its owners' tasks, so a shared user's
 * deferred task may fit once it isolates; without this it waited for the safety-net pass).
 */
export function freesCapacity(previous: Heartbeat | undefined, next: Heartbeat): boolean {
  if (!previous) return true;
  if (previous.draining && !next.draining) return true;
  if ((previous.isolation ?? 'none') !== (next.isolation ?? 'none')) return true;
  if (reportedFreeSlots(next) > reportedFreeSlots(previous)) return true;
  const stillRunning = new Set(next.running.map((r) => r.taskId));
  return previous.running.some((r) => !stillRunning.has(r.taskId));
}
