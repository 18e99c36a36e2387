/*
 * Projections of another service's streams apply each entity's events strictly in stream order.
 * JetStream may redeliver (after a nak, a crash, or a relay republishing past its dedup window)
 * and may hand a later event first (a nak'd message is retried after the ones behind it, and
 * several instances share a durable consumer). So: an event at or below the row's version is a
 * duplicate and changes nothing; one more than a version ahead waits (OutOfOrderEvent → nak →
 * redelivered once the missing event is in). Tested in projections.unit.spec.ts and by the
 * redelivery case of test/allocation.int.spec.ts.
 */

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
