import type { QueryExecutorProvider } from 'kysely';

/**
 * Any open kysely transaction, whatever its database type: `Transaction<DB>` from
 * `db.transaction().execute(...)` or `ControlledTransaction<DB>` from `db.startTransaction()`.
 * A plain `Kysely` instance does not fit (its `isTransaction` is not `true`).
 */
export type KyselyTransaction = QueryExecutorProvider & { readonly isTransaction: true };
