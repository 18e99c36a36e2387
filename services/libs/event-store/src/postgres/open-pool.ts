/*
 * Every pg pool of the services comes from here, so a Postgres that dies (crash, restart, failover)
 * fails the queries that needed it — which their callers retry or answer 503 — and never the
 * process. pg emits 'error' on an idle pooled client (the pool's 'error') and on a client that is
 * checked out but between queries (its own 'error'); an 'error' event nobody listens to is thrown
 * by Node and ended auth, tasks and allocation when the crash matrix killed Postgres. The dead
 * client's next query rejects, and the pool drops it on release.
 */
import { Pool, type PoolConfig } from 'pg';

export function openPool(config: PoolConfig): Pool {
  const pool = new Pool(config);
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}
