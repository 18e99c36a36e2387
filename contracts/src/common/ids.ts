import { v7 as uuidv7 } from 'uuid';

/** A new time-ordered id (UUID v7): sortable by creation time, unique without coordination. */
export function newId(): string {
  return uuidv7();
}

/**
 * The source of a regular expression for a UUID in its canonical 8-4-4-4-12 hex form. Ids in a
 * token (`ayt_<id>.…`, `<id>.…`) are matched with it, never with a looser `[0-9a-f-]{36}`: a
 * 36-character string of hex and dashes that is not a UUID reaches a Postgres `uuid` column and
 * fails there (a 500) instead of being refused as malformed.
 */
export const uuidSource = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

const uuidPattern = new RegExp(`^${uuidSource}$`);

/** True when `s` is a UUID in canonical form (what a Postgres `uuid` column accepts from us). */
export function isUuid(s: string): boolean {
  return uuidPattern.test(s);
}
