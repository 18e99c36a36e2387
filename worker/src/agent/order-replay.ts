/*
 * Recognises an assignment that can only be a replay of the WORK stream, so the agent never
 * starts it. nats-server can reset a durable consumer's ack floor when it restarts after an
 * unclean stop (nats-io/nats-server#8036, open: a single node with limits retention after a power
 * failure; the crash matrix's nats-server row once had 111 finished attempts run a second time,
 * and this is the explanation that fits, not a proven one), and the consumer then delivers every
 * assignment the stream still holds (its max_age is 7 days). The agent's memory of finished
 * attempts is bounded, so a replay's oldest orders would run again and push the newest out of it.
 *
 * The rule: an assignment is stale when the stream stored it before one this agent has already
 * received (a lower stream sequence) and more than `staleAfterMs` before the newest one received.
 * Both are the stream's own numbers, so the agent's clock plays no part; a nats-server clock set
 * back makes new orders look older but gives them higher sequences, and a recreated stream starts
 * its sequences again but stamps them with the time. A stale order's lease ran out long before
 * (30 s by default; `staleAfterMs` is 4 × that): the platform has requeued the attempt or it
 * finished, and a `started` for it would be rejected only after its process had run. Dropping one
 * wrongly (a platform whose TASK_LEASE_MS is longer than `staleAfterMs`) costs a requeue at lease
 * expiry, never a second run.
 *
 * What the agent has seen is kept in its state dir (`orders.json`, written at most once a second),
 * so a replay that is the first thing a restarted agent receives — its machine rebooted with the
 * platform's nats-server on it — is judged too. Orders from the last second before a kill, and a
 * replayed attempt that finished within `staleAfterMs` of the newest order after a restart (the
 * journal forgets finished attempts), are not covered. Tested in order-replay.unit.spec.ts and
 * worker/test/order-replay.int.spec.ts.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assignmentLeaseMs } from '@agentyard/contracts/agent';

/** How much older than the newest received assignment one may be stored and still start. */
export const defaultStaleAfterMs = 4 * assignmentLeaseMs;

/** The newest assignment received: its store time (ms since the epoch) and the highest stream sequence. */
export interface OrdersSeen {
  newestMs: number;
  highestSeq: number;
}

export const nothingSeen: OrdersSeen = { newestMs: 0, highestSeq: 0 };

/** Judges an assignment the stream stored at `storedMs` with sequence `seq`. Pure. */
export function judgeOrder(order: { storedMs: number; seq: number }, seen: OrdersSeen, staleAfterMs: number): { seen: OrdersSeen; stale: boolean } {
  const stale = order.seq < seen.highestSeq && seen.newestMs - order.storedMs > staleAfterMs;
  return { seen: { newestMs: Math.max(seen.newestMs, order.storedMs), highestSeq: Math.max(seen.highestSeq, order.seq) }, stale };
}

/** `orders.json` in the agent's state dir: what it has seen, across restarts. */
export class OrdersSeenFile {
  private readonly file: string;
  private savedAt = 0;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'orders.json');
  }

  /** What a previous run saw; nothing when the file is absent or unreadable (a first start). */
  load(): OrdersSeen {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<OrdersSeen>;
      const valid = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;
      return valid(parsed.newestMs) && valid(parsed.highestSeq) ? { newestMs: parsed.newestMs, highestSeq: parsed.highestSeq } : nothingSeen;
    } catch {
      return nothingSeen;
    }
  }

  /** Writes `seen` unless it was written less than a second ago (one small file, replaced whole). */
  save(seen: OrdersSeen, now = performance.now()): void {
    if (this.savedAt !== 0 && now - this.savedAt < 1_000) return;
    this.savedAt = now;
    const temp = `${this.file}.tmp`;
    writeFileSync(temp, JSON.stringify(seen), { mode: 0o600 });
    renameSync(temp, this.file);
  }
}

/** Test-only: a shorter stale age and a smaller memory of finished attempts, so a test sees the rule and not the memory. */
export const testStaleOrderEnvName = 'AGENTYARD_TEST_STALE_ORDER_MS';
export const testRecentLimitEnvName = 'AGENTYARD_TEST_RECENT_LIMIT';

/** The overrides the environment sets (positive whole numbers only); none in production. */
export function replayOverrides(env: NodeJS.ProcessEnv): { staleAfterMs?: number; recentLimit?: number } {
  const positive = (value: string | undefined): number | undefined => {
    const n = Number(value);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  };
  const staleAfterMs = positive(env[testStaleOrderEnvName]);
  const recentLimit = positive(env[testRecentLimitEnvName]);
  return { ...(staleAfterMs ? { staleAfterMs } : {}), ...(recentLimit ? { recentLimit } : {}) };
}
