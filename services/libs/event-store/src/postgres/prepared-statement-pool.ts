/*
 * Why: kysely sends every query unnamed, so Postgres parses and plans it on every call. For the
 * store's few hot statements (append, readAll, readStream) that planning costs as much as the
 * work itself. When the store owns its pg pool it hands kysely this wrapper, which runs exactly
 * those SQL texts as named prepared statements (planned once per connection) and everything
 * else unchanged. Measured in bench/event-store (README.md).
 */
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type { Pool, PoolClient, Submittable } from 'pg';

/** Wraps `pool` so that queries whose text is a key of `names` run as the named prepared statement. */
export function preparedStatementPool(pool: Pool, names: ReadonlyMap<string, string>): PostgresPool {
  const wrappers = new WeakMap<PoolClient, PostgresPoolClient>();
  const wrap = (client: PoolClient): PostgresPoolClient => {
    function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
    function query<R>(sqlOrCursor: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
      if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor as unknown as Submittable) as unknown as PostgresCursor<R>;
      const name = names.get(sqlOrCursor);
      const values = parameters ? [...parameters] : [];
      const result = name ? client.query({ name, text: sqlOrCursor, values }) : client.query(sqlOrCursor, values);
      return result as unknown as Promise<PostgresQueryResult<R>>;
    }
    return { query, release: (destroy?: boolean) => client.release(destroy) };
  };
  return {
    async connect() {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        wrapper = wrap(client);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}
