/*
 * Cron schedules (croner), decided purely: given a schedule, the clock and whether a run of it is
 * active, which fire time is due and what becomes of it. The scheduler (application layer) asks
 * this at every tick and appends the answer to the workflow's stream before starting any run, so
 * a fire is decided once even across restarts, and the run id it starts is derived from
 * (schedule, fire time) so starting it twice is impossible.
 *
 * Policies:
 *  - overlap — a fire while a run of this schedule is active: `skip` it, `queue` one run behind
 *    the active one (a second queued fire is skipped), or `allow` both;
 *  - missed — fires older than ON_TIME_MS when seen (the service was down): `skip` them, or
 *    `run-once` for all of them together. An on-time fire covers older missed ones either way.
 */
import { Cron } from 'croner';
import { v5 as uuidv5 } from 'uuid';
import { DomainError } from '@agentyard/contracts';

/** Default: a fire seen later than this after its time was missed (the scheduler ticks every ~0.5 s). */
export const ON_TIME_MS = 30_000;

export interface ScheduleState {
  cron: string;
  timezone: string;
  overlap: 'skip' | 'queue' | 'allow';
  missed: 'skip' | 'run-once';
  input: Record<string, unknown>;
  createdAt: string;
  lastFireAt: string | null;
  /** A fire waiting for the active run to end (overlap `queue`). */
  queued: { fireAt: string; runId: string } | null;
}

export type FireOutcome = 'started' | 'queued' | 'skipped-overlap' | 'skipped-missed' | 'skipped-paused' | 'caught-up';

const RUN_ID_NAMESPACE = 'b3c1a7e2-6d4f-5e89-a0b1-2c3d4e5f6a7b';

/** The run a fire starts: the same (schedule, fire time) always gives the same run id. */
export function fireRunId(scheduleId: string, fireAt: string): string {
  return uuidv5(`${scheduleId}/${fireAt}`, RUN_ID_NAMESPACE);
}

function cronOf(pattern: string, timezone: string): Cron {
  return new Cron(pattern, { timezone, paused: true });
}

/** Checks a cron pattern and time zone; throws VALIDATION_FAILED naming what is wrong. */
export function checkCron(pattern: string, timezone: string): void {
  try {
    const next = cronOf(pattern, timezone).nextRun(new Date());
    if (next === null) throw new Error('it never fires');
  } catch (error) {
    const message = (error as Error).message;
    const field = /time ?zone/i.test(message) ? 'timezone' : 'cron';
    throw new DomainError('VALIDATION_FAILED', `invalid schedule: ${field} ${JSON.stringify(field === 'cron' ? pattern : timezone)}: ${message}`, [
      { field, message },
    ]);
  }
}

/** The next fire time after `after` (ISO), or null. */
export function nextFire(s: Pick<ScheduleState, 'cron' | 'timezone'>, after: string): string | null {
  return cronOf(s.cron, s.timezone).nextRun(new Date(after))?.toISOString() ?? null;
}

/**
 * The latest fire time in (from, until], or null. Usually one fire is due (two lookups); after a
 * long outage a binary search over time finds it in ~40 lookups, however many fires were missed.
 */
function latestFire(cron: Cron, from: Date, until: Date): Date | null {
  const first = cron.nextRun(from);
  if (first === null || first.getTime() > until.getTime()) return null;
  const second = cron.nextRun(first);
  if (second === null || second.getTime() > until.getTime()) return first;
  // nextRun is non-decreasing in its argument: find the last instant whose next fire is still due.
  let lo = second.getTime();
  let hi = until.getTime();
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const next = cron.nextRun(new Date(mid));
    if (next !== null && next.getTime() <= until.getTime()) lo = mid;
    else hi = mid;
  }
  const next = cron.nextRun(new Date(lo));
  return next !== null && next.getTime() <= until.getTime() ? next : second;
}

export interface FireDecision {
  fireAt: string;
  outcome: FireOutcome;
  runId: string | null;
}

/**
 * What is due at `now`, or null when nothing is. Only the latest due fire time is decided (older
 * ones are covered by it or missed together), so one decision per tick at most.
 */
export function decideFire(
  scheduleId: string,
  s: ScheduleState,
  now: Date,
  ctx: { activeRuns: number; paused: boolean; onTimeMs?: number },
): FireDecision | null {
  const latest = latestFire(cronOf(s.cron, s.timezone), new Date(s.lastFireAt ?? s.createdAt), now);
  if (latest === null) return null;
  const fireAt = latest.toISOString();
  if (ctx.paused) return { fireAt, outcome: 'skipped-paused', runId: null };
  const onTime = now.getTime() - latest.getTime() <= (ctx.onTimeMs ?? ON_TIME_MS);
  if (!onTime && s.missed === 'skip') return { fireAt, outcome: 'skipped-missed', runId: null };
  const runId = fireRunId(scheduleId, fireAt);
  if (ctx.activeRuns > 0 && s.overlap !== 'allow') {
    if (s.overlap === 'queue' && s.queued === null) return { fireAt, outcome: 'queued', runId };
    return { fireAt, outcome: 'skipped-overlap', runId: null };
  }
  return { fireAt, outcome: onTime ? 'started' : 'caught-up', runId };
}
