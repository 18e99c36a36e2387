/**
 * A worker's task isolation, from its latest heartbeat, in words for its page. An agent that does
 * not isolate tasks (or is too old to say) gets only its owners' tasks from the platform, so
 * someone it was shared with learns here why their tasks do not run on it. Pure; tested in
 * isolation.unit.spec.ts.
 */
import type { Heartbeat } from '@/api/client';

export interface IsolationShown {
  isolated: boolean;
  label: string;
  detail: string;
}

/** Null before the first heartbeat (nothing is known yet). */
export function describeIsolation(heartbeat: Pick<Heartbeat, 'isolation'> | null): IsolationShown | null {
  if (!heartbeat) return null;
  switch (heartbeat.isolation) {
    case 'bubblewrap':
      return { isolated: true, label: 'Sandbox (bubblewrap)', detail: "Each task runs in its own sandbox, away from the agent's credential and other tasks." };
    case 'task-user':
      return {
        isolated: true,
        label: 'Own user per task',
        detail: "Each task runs under a user of its own, away from the agent's credential and other tasks.",
      };
    case 'none':
      return {
        isolated: false,
        label: 'Not isolated',
        detail: "Its agent runs tasks as its own user, where they could read the worker's credential: only its owners' tasks run here.",
      };
    case undefined:
      return {
        isolated: false,
        label: 'Not reported',
        detail: "Its agent is too old to report task isolation, so it counts as not isolated: only its owners' tasks run here.",
      };
    default: {
      const unreachable: never = heartbeat.isolation;
      return unreachable;
    }
  }
}
