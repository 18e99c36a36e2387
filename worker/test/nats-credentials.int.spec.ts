/*
 * The agent's NATS credentials against a real nats-server in operator mode: renewed before they
 * expire, the connection carries on past the first credentials' expiry (which would otherwise
 * make the server disconnect it for good).
 */
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { workerInboxPrefix } from '@agentyard/contracts';
import { createNatsAuth, startNatsServer, type NatsAuthSetup, type NatsServer } from '@agentyard/local-infra';
import { issueWorkerCreds } from '@agentyard/messaging';
import { createLogger } from '../src/logging/logger';
import { NatsCredentialsHolder } from '../src/registration/nats-credentials';

let auth: NatsAuthSetup;
let server: NatsServer;
const connections: NatsConnection[] = [];

beforeAll(async () => {
  auth = await createNatsAuth();
  server = await startNatsServer({ extraConfig: auth.serverConfig });
});

afterAll(async () => {
  for (const nc of connections) await nc.close().catch(() => undefined);
  await server?.stop();
});

async function credentialsFor(workerId: string, ttlSeconds: number) {
  const { creds, expiresAt } = await issueWorkerCreds({
    accountPublicKey: auth.accountPublicKey,
    workerSigningSeed: auth.workerSigningSeed,
    workerId,
    expiresInSeconds: ttlSeconds,
  });
  return { creds, expiresAt, inboxPrefix: workerInboxPrefix(workerId) };
}

describe("an agent's NATS credentials on a real server", () => {
  it('are renewed before they expire, and the connection carries on past the first ones', async () => {
    const services = await connect({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode(auth.serviceCreds)) });
    connections.push(services);
    const heard: string[] = [];
    services.subscribe('work.heartbeat.w1', { callback: (_e, m) => void heard.push(m.string()) });
    await services.flush();

    // Valid 14 s: renewed at ¾ (10.5 s) with credentials valid 10 minutes.
    const first = await credentialsFor('w1', 14);
    const renewals: string[] = [];
    const holder = new NatsCredentialsHolder(
      first,
      async () => {
        const next = await credentialsFor('w1', 600);
        renewals.push(next.expiresAt);
        return next;
      },
      createLogger('error', () => undefined),
    );
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 200, ...holder.connectionOptions() });
    connections.push(nc);
    holder.startRenewing(nc);
    try {
      nc.publish('work.heartbeat.w1', 'before');
      await new Promise((r) => setTimeout(r, 17_000)); // past the first credentials' expiry
      nc.publish('work.heartbeat.w1', 'after');
      await nc.flush();
      await services.flush();
      for (let i = 0; i < 50 && !heard.includes('after'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(renewals).toHaveLength(1);
      expect(heard).toEqual(['before', 'after']);
      expect(nc.isClosed()).toBe(false);
    } finally {
      holder.stop();
    }
  }, 40_000);
});
