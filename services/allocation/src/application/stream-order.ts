/*
 * Projections of another service's streams apply each entity's events strictly in stream order.
 * JetStream may redeliver (after a nak, a crash, or a relay republishing past its dedup window)
 * and may hand a later event first (a nak'd message is retried after the ones behind it, and
 * several instances share a durable consumer). So: an event at or below the row's version is a
 * duplicate and changes nothing; one more than a version ahead waits (OutOfOrderEvent → nak →
 * redelivered once the missing event is in). Tested in projections.unit.spec.ts and by the
 * redelivery case of test/allocation.int.spec.ts.
 */
import type { Envelope } from '@agentyard/contracts';

/** What to do with an event at `eventVersion` given the row's last applied `rowVersion` (0 = no row). */
export function orderOf(rowVersion: number, eventVersion: number): 'apply' | 'duplicate' | 'gap' {
  if (eventVersion <= rowVersion) return 'duplicate';
  return eventVersion === rowVersion + 1 ? 'apply' : 'gap';
}

/** The event arrived before an earlier one of its stream; retried later (nak with backoff). */
export class OutOfOrderEvent extends Error {
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(`event ${actualVersion} of ${streamId} arrived before event ${expectedVersion}; waiting for it`);
    this.name = 'OutOfOrderEvent';
  }
}

export type ApplyResult = 'applied' | 'duplicate';

/** The row I/O `applyInStreamOrder` needs, run inside the caller's transaction. */
export interface EntityRowIo<S> {
  /** The entity's current state, locked for update; null when absent. */
  load(): Promise<S | null>;
  update(next: S): Promise<void>;
  /** Inserts the first row; false when another instance inserted it meanwhile. */
  insert(next: S): Promise<boolean>;
}

/**
 * Applies `event` to one entity if it is the next of its stream: 'duplicate' when already
 * applied, OutOfOrderEvent when an earlier one is missing (also when another instance inserted
 * the first row meanwhile — the retry will then see a duplicate).
 */
export async function applyInStreamOrder<S extends { version: number }>(
  event: Envelope,
  io: EntityRowIo<S>,
  evolve: (state: S | null, event: Envelope) => S,
): Promise<ApplyResult> {
  const current = await io.load();
  const order = orderOf(current?.version ?? 0, event.streamVersion);
  if (order === 'duplicate') return 'duplicate';
  if (order === 'gap') throw new OutOfOrderEvent(event.streamId, (current?.version ?? 0) + 1, event.streamVersion);
  const next = evolve(current, event);
  if (current) {
    await io.update(next);
    return 'applied';
  }
  if (!(await io.insert(next))) throw new OutOfOrderEvent(event.streamId, 1, event.streamVersion);
  return 'applied';
}
