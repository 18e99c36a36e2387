/** Tunables of the tasks service (from config.ts), shared by the handlers that need them. */
import type { UserLimits } from '../domain/user-limits';

export const TASKS_SETTINGS = Symbol('TASKS_SETTINGS');

export interface TasksSettings {
  /** Time a worker has to report `started` after an assignment (design: 30 s). */
  leaseMs: number;
  /** Extra time a running task gets past its timeoutSeconds before we time it out ourselves (design: 10 s). */
  runGraceSeconds: number;
  /** Pause between two timeout scans (design: 1 s). */
  scanIntervalMs: number;
  /** Most tasks of each kind (queued, assigned, running) one scan acts on. */
  scanBatchSize: number;
  /** Longest an allocation decision that arrives inside a requeue backoff is held until the backoff ends (20 s). */
  assignWaitMaxMs: number;
  /** Most tasks queued on the whole platform before POST /tasks refuses new ones (null = no limit). */
  maxQueued: number | null;
  /** Per-user limits on new tasks submitted directly (POST /tasks). */
  userLimits: UserLimits;
}
