/*
 * What a nats-server restart does to what a client sends while it reconnects: nats.js drops it
 * (each reconnect attempt resets its outbound buffer), so without ConnectionState a request made
 * then is refused after its timeout and a JetStream publish waits out its ack timeout. Real
 * nats-server, killed with SIGKILL and restarted on the same port and data directory.
 */
import { testNats, type NatsServer } from '@agentyard/local-infra';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { publishAcked } from './event-publisher';
import { ConnectionState } from './nats-connection';
import { NatsRpcClient } from './nats-rpc.client';
import { eventually } from './testing/eventually';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('while NATS reconnects', () => {
  let nats: NatsServer;
  /** Comes back first (50 ms between attempts), so it listens again before the requester sends. */
  let responder: NatsConnection;
  let requester: NatsConnection;
  let js: JetStreamClient;

  beforeAll(async () => {
    nats = await testNats();
    responder = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    responder.subscribe('echo', {
      callback: (_error, msg) => {
        msg.respond(msg.data);
      },
    });
    await responder.flush();
    requester = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    await (await jetstreamManager(requester)).streams.add({ name: 'RECONNECT', subjects: ['reconnect.>'] });
    js = jetstream(requester);
  });

  afterAll(async () => {
    await requester?.close();
    await responder?.close();
    await nats?.stop();
  });

  /** Kills nats-server, calls `send` while it is down, restarts it, and resolves with what `send` resolved. */
  async function duringOutage<T>(send: () => Promise<T>): Promise<T> {
    await nats.kill();
    await eventually(() => !ConnectionState.of(requester).connected, 5_000, 'the requester to notice the disconnect');
    const sent = send();
    sent.catch(() => undefined); // awaited below
    await sleep(300);
    await nats.restart();
    return sent;
  }

  it('follows the connection: down after the server died, up again at the reconnect', async () => {
    const state = ConnectionState.of(requester);
    expect(state.connected).toBe(true);
    // A wait that ends without a reconnect lets go of its listener: one per publish must not pile up.
    await expect(state.raceReconnect(Promise.resolve('acked'))).resolves.toBe('acked');
    await publishAcked(js, 'reconnect.before', 'x', { msgID: 'before-1', connection: requester });
    expect(state.waiting).toBe(0);
    const back = state.raceReconnect(new Promise(() => undefined));
    await duringOutage(async () => expect(state.connected).toBe(false));
    await expect(back).resolves.toBe('reconnected');
    expect(state.connected).toBe(true);
    await expect(state.whenConnected(10)).resolves.toBe(true);
    expect(state.waiting).toBe(0);
  });

  it('answers a request made while NATS was down once it is back, instead of refusing it after its timeout', async () => {
    const client = new NatsRpcClient(requester, { defaultTimeoutMs: 8_000 });
    await expect(duringOutage(() => client.request('echo', { n: 1 }))).resolves.toEqual({ n: 1 });
  }, 30_000);

  it('asks again, for a moment after a reconnect, a subject whose service has not subscribed again yet', async () => {
    const client = new NatsRpcClient(requester, { defaultTimeoutMs: 8_000 });
    // A service that reconnects later than the requester: it answers only 700 ms after the restart.
    const late = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    try {
      const answered = duringOutage(async () => {
        await ConnectionState.of(requester).whenConnected(10_000);
        return client.request('late-echo', { n: 2 });
      });
      await sleep(1_200);
      late.subscribe('late-echo', {
        callback: (_error, msg) => {
          msg.respond(msg.data);
        },
      });
      await late.flush();
      await expect(answered).resolves.toEqual({ n: 2 });
    } finally {
      await late.close();
    }
  }, 30_000);

  it('still refuses at once a subject nobody serves, away from a reconnect', async () => {
    const fresh = await connect({ servers: nats.url });
    try {
      const started = performance.now();
      await expect(new NatsRpcClient(fresh, { defaultTimeoutMs: 8_000 }).request('nobody-serves-this', {})).rejects.toThrow(
        'no service answers on nobody-serves-this',
      );
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      await fresh.close();
    }
  });

  it('stores a JetStream publish made while NATS was down once it is back, within one attempt of a long ack timeout', async () => {
    // Created now, as a service's is at start: it must see the disconnect to hold the publish back.
    ConnectionState.of(requester);
    const ack = await duringOutage(() =>
      publishAcked(js, 'reconnect.during', 'x', { msgID: 'during-1', attempts: 1, timeoutMs: 20_000, connection: requester }),
    );
    expect({ stream: ack.stream, duplicate: ack.duplicate }).toEqual({ stream: 'RECONNECT', duplicate: false });
  }, 30_000);
});
