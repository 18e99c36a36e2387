/*
 * SQL helpers for read models that write a batch of rows at once.
 */
import { sql, type RawBuilder } from 'kysely';

/**
 * `SET col = excluded.col` for every column of `row` except `key`, plus `extra` (e.g.
 * `{ updated_at: sql\`now()\` }`): the update half of a multi-row upsert
 * (`INSERT … VALUES (…), (…) ON CONFLICT (key) DO UPDATE SET …`), which writes a whole batch of
 * read-model rows in one statement. Typed loosely: kysely cannot type a column set built at run
 * time, and every caller passes its own table's row.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kysely's update-set type depends on the caller's table; built at run time it cannot be named here
export function excludedColumns(row: object, key: string, extra: Record<string, RawBuilder<unknown>> = {}): any {
  const set: Record<string, RawBuilder<unknown>> = { ...extra };
  for (const column of Object.keys(row)) if (column !== key) set[column] = sql.ref(`excluded.${column}`);
  return set;
}
