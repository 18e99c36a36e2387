/*
 * The Postgres store's global position, in one place (the SQL in postgres-event-store.migrations.ts
 * computes the same thing).
 *
 * Readers deliver the log in (transaction_id, order of insertion within that transaction) order and
 * only rows of transactions older than every transaction still running (`transaction_id <
 * pg_snapshot_xmin(pg_current_snapshot())`). A `bigserial` alone is not monotonic in that order: a
 * transaction that took its id first can insert (and draw sequence values) after a younger one. So
 * the position handed to consumers is built from the order itself:
 *
 *     position = transaction_id * 2^16 + ordinal      (ordinal: 0, 1, 2 … within the transaction)
 *
 * It is strictly increasing in read order, and resuming with `position > checkpoint` never skips or
 * repeats a row: every row below the checkpoint belongs to a transaction that had already ended when
 * the checkpoint was delivered. Limits: 65,536 events per transaction and transaction ids below
 * 2^47 (≈ 140 trillion write transactions) so positions fit a signed 64-bit `bigint` column.
 */

/** Bits of the position reserved for the ordinal of an event within its transaction. */
export const ORDINAL_BITS = 16n;
/** Most events one transaction may append. */
export const MAX_EVENTS_PER_TRANSACTION = 1 << Number(ORDINAL_BITS);
/** Largest transaction id whose positions still fit a signed 64-bit integer. */
export const MAX_TRANSACTION_ID = (1n << (63n - ORDINAL_BITS)) - 1n;

/** The position of the `ordinal`-th event (0-based) appended by transaction `transactionId`. */
export function logPosition(transactionId: bigint, ordinal: number): bigint {
  if (transactionId < 0n || transactionId > MAX_TRANSACTION_ID) throw new RangeError(`transaction id out of range: ${transactionId}`);
  if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal >= MAX_EVENTS_PER_TRANSACTION) {
    throw new RangeError(`ordinal out of range: ${ordinal}`);
  }
  return (transactionId << ORDINAL_BITS) | BigInt(ordinal);
}

/** The transaction id (xid8) that appended the event at `position`. */
export function transactionIdOf(position: bigint): bigint {
  return position >> ORDINAL_BITS;
}

/** The 0-based index of the event at `position` among the events its transaction appended. */
export function ordinalOf(position: bigint): number {
  return Number(position & ((1n << ORDINAL_BITS) - 1n));
}
