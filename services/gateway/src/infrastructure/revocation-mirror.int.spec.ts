/*
 * The gateway's copy of a revocation bucket, on a real nats-server that is killed (SIGKILL) and
 * restarted on the same port and data directory. What must hold: a revoked id is refused from the
 * copy without a round trip once it is in sync; a revocation made elsewhere reaches it on its own;
 * while NATS is down, and after a reconnect until the copy caught up with what it missed, checks
 * ask the bucket (fail closed).
 */
import { testNats, type NatsServer } from '@agentyard/local-infra';
import { ConnectionState } from '@agentyard/messaging';
import { RevocationList } from '@agentyard/service-kit';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { RevocationMirror } from './revocation-mirror';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('RevocationMirror', () => {
  let nats: NatsServer;
  /** The gateway's connection (its copy follows the bucket through it). */
  let gateway: NatsConnection;
  /** Auth's connection, which revokes. */
  let auth: NatsConnection;
  let authList: RevocationList;
  let mirror: RevocationMirror;
  /** Checks that went to the bucket (the real RevocationList, counted). */
  let asked: number;
  let bucket = 0;

  beforeAll(async () => {
    nats = await testNats();
  });

  beforeEach(async () => {
    const name = `revoked-${++bucket}`;
    // The gateway comes back later than auth after a restart, so auth can revoke while it is away.
    gateway = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 5_000 });
    auth = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    ConnectionState.of(auth); // followed from the start, as connectNats does: one made during an outage would take it for up
    authList = await RevocationList.open(auth, name, 60_000);
    await authList.revoke('revoked-before-start');
    const gatewayList = await RevocationList.open(gateway, name, 60_000);
    asked = 0;
    const counted = Object.assign(Object.create(gatewayList) as RevocationList, {
      isRevoked: (id: string) => {
        asked++;
        return gatewayList.isRevoked(id);
      },
    });
    mirror = new RevocationMirror(counted, gateway, 120_000);
    await mirror.start();
  });

  afterEach(async () => {
    mirror?.stop();
    await gateway?.close();
    await auth?.close();
  });

  afterAll(async () => {
    await nats?.stop();
  });

  it('answers from the copy once in sync: ids revoked before it started and after, without asking the bucket', async () => {
    expect(mirror.answersLocally()).toBe(true);
    expect(await mirror.isRevoked('revoked-before-start')).toBe(true);
    expect(await mirror.isRevoked('never-revoked')).toBe(false);
    await authList.revoke('revoked-later');
    await mirror.catchUp(); // what the logout route does before it answers
    expect(await mirror.isRevoked('revoked-later')).toBe(true);
    expect(asked).toBe(0);
  });

  it('learns a revocation made elsewhere on its own, within moments', async () => {
    await authList.revoke('revoked-by-another-gateway');
    await until(() => mirror.isRevoked('revoked-by-another-gateway'), 'the watch to deliver the revocation', 2_000);
    expect(asked).toBe(0);
  });

  it('refuses an id that is no token id at all, without asking anyone', async () => {
    expect(await mirror.isRevoked('not a token id; drop table')).toBe(true);
    expect(asked).toBe(0);
  });

  it('asks the bucket while NATS is down (and fails closed), and after the reconnect until it caught up with what it missed', async () => {
    await nats.kill();
    await until(() => !ConnectionState.of(gateway).connected, 'the gateway to notice the disconnect');
    expect(mirror.answersLocally()).toBe(false);
    // The check goes to the bucket, which cannot answer now: the request fails rather than pass.
    const check = mirror.isRevoked('revoked-during-outage');
    check.catch(() => undefined);
    await nats.restart();
    // Auth revokes as soon as it is back, while the gateway is still away: its watch misses it.
    await until(() => ConnectionState.of(auth).connected, 'auth to reconnect');
    // JetStream may need a moment after the restart: auth's logout would be retried by its client.
    await until(
      () =>
        authList.revoke('revoked-during-outage').then(
          () => true,
          () => false,
        ),
      'the revocation to be stored',
      4_000,
    );
    expect(ConnectionState.of(gateway).connected).toBe(false);
    await until(() => mirror.answersLocally(), 'the copy to sync again after the reconnect', 10_000);
    // In sync again means it holds what it missed: no window where the copy says "not revoked".
    expect(await mirror.isRevoked('revoked-during-outage')).toBe(true);
    expect(await mirror.isRevoked('revoked-before-start')).toBe(true);
    expect(asked).toBeGreaterThan(0);
    await check.then(
      (revoked) => expect(revoked).toBe(true), // answered by the bucket after the reconnect
      (error: unknown) => expect(error).toBeInstanceOf(Error), // or refused: never a pass
    );
  });
});
