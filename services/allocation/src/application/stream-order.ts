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

/** One event for one entity (a task or a worker) of a batch. */
export interface EntityEvent {
  entityId: string;
  event: Envelope;
}

/** The row I/O `applyInStreamOrder` needs, run inside the caller's transaction. */
export interface EntityRowsIo<S> {
  /** The current state of each of these entities that has a row, locked for update. */
  loadMany(ids: string[]): Promise<Map<string, S>>;
  /** Writes rows `loadMany` returned (so they exist and are locked). */
  updateMany(states: S[]): Promise<void>;
  /** Inserts first rows; returns the ids another instance inserted meanwhile (those not written). */
  insertMany(states: S[]): Promise<Set<string>>;
}

/**
 * Applies a batch of events, in the batch's order, each to its entity if it is the next of its
 * stream: per event 'applied', 'duplicate' (already applied) or an OutOfOrderEvent (an earlier
 * one is missing — also when another instance inserted the entity's first row meanwhile; the
 * retry will then see a duplicate). Rows are read once, folded in memory and written with one
 * statement per kind, so a batch costs a few round trips whatever its size.
 */
export async function applyInStreamOrder<S extends { version: number }>(
  batch: EntityEvent[],
  io: EntityRowsIo<S>,
  evolve: (state: S | null, event: Envelope) => S,
): Promise<Array<ApplyResult | OutOfOrderEvent>> {
  // Sorted, so two instances locking overlapping batches take the locks in one order.
  const ids = [...new Set(batch.map((b) => b.entityId))].sort();
  const current = await io.loadMany(ids);
  const existed = new Set(current.keys());
  const states = new Map<string, S | null>(current);
  const changed = new Set<string>();
  const results = batch.map(({ entityId, event }): ApplyResult | OutOfOrderEvent => {
    const state = states.get(entityId) ?? null;
    const order = orderOf(state?.version ?? 0, event.streamVersion);
    if (order === 'duplicate') return 'duplicate';
    if (order === 'gap') return new OutOfOrderEvent(event.streamId, (state?.version ?? 0) + 1, event.streamVersion);
    states.set(entityId, evolve(state, event));
    changed.add(entityId);
    return 'applied';
  });
  const pick = (inserted: boolean) => [...changed].filter((id) => existed.has(id) !== inserted).map((id) => states.get(id)!);
  if (pick(false).length > 0) await io.updateMany(pick(false));
  const raced = pick(true).length > 0 ? await io.insertMany(pick(true)) : new Set<string>();
  return results.map((result, i) => {
    const { entityId, event } = batch[i]!;
    return result === 'applied' && raced.has(entityId) ? new OutOfOrderEvent(event.streamId, 1, event.streamVersion) : result;
  });
}
