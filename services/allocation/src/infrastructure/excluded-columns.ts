import { sql, type RawBuilder } from 'kysely';

/**
 * `SET col = excluded.col` for every column of `row` but the key, plus `updated_at = now()`: the
 * update half of a multi-row upsert (`INSERT … ON CONFLICT (key) DO UPDATE`), which writes a
 * whole batch of rows in one statement.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kysely cannot type a column set built at run time
export function excludedColumns(row: object, key: string): any {
  const set: Record<string, RawBuilder<unknown>> = { updated_at: sql`now()` };
  for (const column of Object.keys(row)) if (column !== key) set[column] = sql.ref(`excluded.${column}`);
  return set;
}
