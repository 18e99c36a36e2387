/*
 * Per-user limits on new tasks: how many a user may have unfinished at once, and how much agent
 * cost a user may spend per UTC day. Pure: the handler reads the figures, this decides. Both are
 * soft limits: two creates racing past the last free place can both pass, and a day's cost is
 * known only from finished attempts (a running agent's spend lands when it reports). What they
 * stop is the runaway: a script looping on POST /tasks, an agent bill growing all night.
 */
import { DomainError } from '@agentyard/contracts';

export interface UserLimits {
  /** Most tasks a user may have queued, assigned or running at once; null = no limit. */
  maxActiveTasks: number | null;
  /** Most agent cost (USD) a user's tasks may report per UTC day before new tasks are refused; null = no limit. */
  dailyCostUsd: number | null;
}

export interface UserStanding {
  activeTasks: number;
  costTodayUsd: number;
}

/** The refusal of a new task, or null when the user is within their limits. */
export function refuseOverLimit(limits: UserLimits, standing: UserStanding, now: Date): DomainError | null {
  if (limits.maxActiveTasks !== null && standing.activeTasks >= limits.maxActiveTasks) {
    return new DomainError(
      'RATE_LIMITED',
      `you have ${standing.activeTasks} unfinished tasks and the limit is ${limits.maxActiveTasks}: wait for some to finish or cancel some, then submit again`,
      { limit: 'maxActiveTasks', activeTasks: standing.activeTasks, maxActiveTasks: limits.maxActiveTasks },
    );
  }
  if (limits.dailyCostUsd !== null && standing.costTodayUsd >= limits.dailyCostUsd) {
    const resetsAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString();
    return new DomainError(
      'RATE_LIMITED',
      `your tasks reported $${standing.costTodayUsd.toFixed(2)} of agent cost today, which reaches the daily limit of $${limits.dailyCostUsd.toFixed(2)}: new tasks are refused until ${resetsAt} (an admin can raise USER_DAILY_COST_LIMIT_USD)`,
      // retryAfterSeconds becomes the HTTP Retry-After header at the gateway.
      {
        limit: 'dailyCostUsd',
        costTodayUsd: standing.costTodayUsd,
        dailyCostUsd: limits.dailyCostUsd,
        resetsAt,
        retryAfterSeconds: Math.ceil((Date.parse(resetsAt) - now.getTime()) / 1000),
      },
    );
  }
  return null;
}

/**
 * Why a queued task is not dispatched, or null when it may be: its owner's tasks reached the daily
 * cost limit after it was queued (the create-time check let it in; spending that landed since must
 * not be topped up by the queue). The task fails with this reason rather than waiting for the next
 * day: a queue timeout would fail it anyway, and the owner should hear why now.
 */
export function dispatchRefusal(limits: UserLimits, costTodayUsd: number, now: Date): string | null {
  if (limits.dailyCostUsd === null || costTodayUsd < limits.dailyCostUsd) return null;
  const resetsAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString();
  return (
    `not dispatched: your tasks reported $${costTodayUsd.toFixed(2)} of agent cost today, which reaches the daily limit of ` +
    `$${limits.dailyCostUsd.toFixed(2)}; retry it after ${resetsAt} (an admin can raise USER_DAILY_COST_LIMIT_USD)`
  );
}

/**
 * The refusal of a new task when the platform's queue already holds `maxQueued` tasks waiting for
 * a worker (null = no limit). The backlog lives in the durable queue, not in front of the API;
 * this bounds the queue itself, so a flood is told to come back instead of piling up for hours.
 * Soft, like the per-user limits: the count is at most a moment old.
 */
export function refuseOverQueue(maxQueued: number | null, queued: number): DomainError | null {
  if (maxQueued === null || queued < maxQueued) return null;
  return new DomainError(
    'RATE_LIMITED',
    `the platform's queue holds ${queued} tasks waiting for a worker, its limit is ${maxQueued}: submit again in a few seconds (an admin can raise TASKS_MAX_QUEUED)`,
    { limit: 'maxQueued', queued, maxQueued, retryAfterSeconds: 5 },
  );
}
