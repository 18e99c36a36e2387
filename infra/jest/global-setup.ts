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
  // Services' leases (ARCHITECTURE.md "High availability") in tests: a loaded run stalls processes
  // for seconds, and a 3 s lease then moves back and forth, restarting relays and consumers. The
  // high-availability e2e sets the production default (3 000) itself.
  process.env.LEASE_TTL_MS ??= '10000';
  if (process.env.AGENTYARD_TEST_PG_URL) return;
  const pg = await startPostgresServer({ ephemeral: true });
  globalThis.__agentyardPostgres = pg;
  process.env.AGENTYARD_TEST_PG_URL = pg.url;
}
