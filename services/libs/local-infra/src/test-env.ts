/*
 * Per-suite test resources. Jest's global setup (infra/jest/global-setup.js) starts one Postgres
 * cluster per run and exports its admin URL; each suite gets its own database from it and its
 * own nats-server, so suites never see each other's data and can run in parallel.
 */
import { randomBytes } from 'node:crypto';
import { createDatabase } from './postgres-server';
import { startNatsServer, type NatsServer } from './nats-server';

/** A new empty database on the run's test cluster (AGENTYARD_TEST_PG_URL). */
export async function testDatabase(prefix = 't'): Promise<string> {
  const admin = process.env.AGENTYARD_TEST_PG_URL;
  if (!admin) throw new Error('AGENTYARD_TEST_PG_URL is not set: run tests through `npm test` (its jest global setup starts Postgres)');
  return createDatabase(admin, `${prefix}_${randomBytes(6).toString('hex')}`);
}

/** A new nats-server with JetStream, on a free port, for one suite. */
export async function testNats(): Promise<NatsServer> {
  return startNatsServer();
}
