/*
 * Starts one throwaway Postgres cluster for the whole Jest run (fsync off) unless
 * AGENTYARD_TEST_PG_URL points at one already; suites create their own databases in it.
 */
// Jest loads global setup before its moduleNameMapper applies, so the lib is imported by path —
// only its Postgres module: the lib's index loads the contracts, whose zod registry (kept on
// globalThis) would then clash with the suites' own copy when Jest runs in band.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { startPostgresServer, type PostgresServer } from '../../services/libs/local-infra/src/postgres-server';

declare global {
  var __agentyardPostgres: PostgresServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  if (process.env.AGENTYARD_TEST_PG_URL) return;
  const pg = await startPostgresServer({ ephemeral: true });
  globalThis.__agentyardPostgres = pg;
  process.env.AGENTYARD_TEST_PG_URL = pg.url;
}
