/*
 * What an agent CLI's parsed stream adds to an attempt's result — its usage (when it passes the
 * contract, or a report the tasks service refused would lose the whole result), its summary, and
 * the limit of the task it stopped at — shared by a live attempt (worker-agent.ts) and one a
 * restarted agent reports from the log it kept (leftover-attempt.ts).
 */
import { agentUsageSchema, type TaskResult } from '@agentyard/contracts/agent';
import { outcomeOf, type AgentEvent, type AgentLimit } from '../tools/agent-stream';

export interface AddedAgentOutcome {
  /** Why the tool's usage was left out (it broke the contract), if it was. */
  usageRefused?: string;
  /** The limit the tool stopped at (its budget, its turns), and the message saying so. */
  limit?: AgentLimit;
  limitMessage?: string;
}

/** Adds `events`' usage and summary to `result`; says what was refused and which limit stopped the tool. */
export function addAgentOutcome(result: TaskResult, events: readonly AgentEvent[]): AddedAgentOutcome {
  const agent = outcomeOf(events);
  const added: AddedAgentOutcome = {};
  const usage = agent.usage ? agentUsageSchema.safeParse(agent.usage) : undefined;
  if (usage?.success) result.usage = usage.data;
  else if (usage) added.usageRefused = usage.error.issues[0]?.message ?? 'invalid';
  if (agent.summary !== undefined) result.summary = agent.summary.slice(0, 16 * 1024);
  if (agent.limit) {
    added.limit = agent.limit;
    // A limit the task set (its budget, its turns) is why it failed: say so first, then what the tool said.
    added.limitMessage = `${agent.limit}: ${agent.summary ?? 'the tool stopped at a limit of the task'}`.slice(0, 4096);
  }
  return added;
}
