/*
 * Event hints on a real nats-server: what a started listener receives and hands over in batches,
 * what it remembers for the durable consumer, and what it drops (a stopped listener, a malformed
 * hint, a failed handler, a full queue).
 */
import type { Envelope } from '@agentyard/contracts';
import { testNats, type NatsServer } from '@agentyard/local-infra';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { HintListener, HintSender, type HintListenerOptions } from './event-hints';
import { eventually } from './testing/eventually';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function event(id: string, streamVersion = 1): Envelope {
  return {
    id,
    type: 'TaskQueued',
    version: 1,
    streamId: `task-${id}`,
    streamVersion,
    occurredAt: new Date().toISOString(),
    data: { taskId: id },
    metadata: { correlationId: id, causationId: id },
  } as Envelope;
}

describe('event hints', () => {
  let nats: NatsServer;
  let sending: NatsConnection;
  let listening: NatsConnection;
  const listeners: HintListener[] = [];

  beforeAll(async () => {
    nats = await testNats();
    sending = await connect({ servers: nats.url });
    listening = await connect({ servers: nats.url });
  });

  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.stop()));
    await sending?.close();
    await listening?.close();
    await nats?.stop();
  });

  function listener(subject: string, options: Partial<HintListenerOptions> & Pick<HintListenerOptions, 'handle'>): HintListener {
    const created = new HintListener({ connection: listening, subject, parse: (e) => e, ...options });
    listeners.push(created);
    return created;
  }

  async function sent(subject: string, events: Envelope[]): Promise<void> {
    new HintSender(sending).send(subject, events);
    await sending.flush();
  }

  it('hands a started listener the events of each hint and remembers the ids its handler took', async () => {
    const batches: string[][] = [];
    const hints = listener('hints.test.one.*', {
      handle: async (events) => {
        batches.push(events.map((e) => e.id));
        return events.filter((e) => e.id !== 'b').map((e) => e.id);
      },
    });
    hints.start();
    await listening.flush();
    await sent('hints.test.one.x', [event('a'), event('b', 2)]);
    await eventually(() => batches.length === 1, 5_000, 'the hint to be handled');
    expect(batches).toEqual([['a', 'b']]);
    // What the handler took, and only that, is skipped on the durable way.
    expect(await hints.took('a')).toBe(true);
    expect(await hints.took('b')).toBe(false);
    expect(await hints.took('never-hinted')).toBe(false);
  });

  it('batches what arrives while a batch is handled, and hands nothing over once stopped', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const hints = listener('hints.test.two.*', {
      handle: async (events) => {
        batches.push(events.map((e) => e.id));
        if (batches.length === 1) await held;
        return events.map((e) => e.id);
      },
    });
    hints.start();
    await listening.flush();
    await sent('hints.test.two.x', [event('first')]);
    await eventually(() => batches.length === 1, 5_000, 'the first batch');
    for (const id of ['second', 'third', 'fourth']) await sent(`hints.test.two.${id}`, [event(id)]);
    await sleep(100);
    expect(batches).toHaveLength(1); // still held: the three wait together
    release();
    await eventually(() => batches.length === 2, 5_000, 'the second batch');
    expect(batches[1]).toEqual(['second', 'third', 'fourth']);

    await hints.stop();
    await sent('hints.test.two.after', [event('after-stop')]);
    await sleep(200);
    expect(batches).toHaveLength(2);
    expect(await hints.took('after-stop')).toBe(false);
  });

  it('drops a malformed hint, one its registry refuses, and one its handler fails, and goes on listening', async () => {
    const handled: string[] = [];
    const hints = listener('hints.test.three.*', {
      parse: (e) => {
        if (e.type !== 'TaskQueued') throw new Error(`unknown type ${e.type}`);
        return e;
      },
      handle: async (events) => {
        if (events.some((e) => e.id === 'explodes')) throw new Error('handler failed');
        handled.push(...events.map((e) => e.id));
        return events.map((e) => e.id);
      },
    });
    hints.start();
    await listening.flush();
    sending.publish('hints.test.three.x', 'not json');
    sending.publish('hints.test.three.x', '[]');
    sending.publish('hints.test.three.x', JSON.stringify({ id: 'not-an-array' }));
    await sent('hints.test.three.x', [{ ...event('forged'), type: 'SomethingElse' } as Envelope]);
    await sent('hints.test.three.x', [event('explodes')]);
    await eventually(() => hints.dropped === 5, 5_000, 'five hints dropped');
    expect(await hints.took('explodes')).toBe(false);
    await sent('hints.test.three.x', [event('fine')]);
    await eventually(() => handled.includes('fine'), 5_000, 'a good hint after the bad ones');
    expect(handled).toEqual(['fine']);
    expect(await hints.took('fine')).toBe(true);
    expect([hints.batched, hints.tookCount, hints.skipped]).toEqual([2, 1, 1]);
  });

  it('drops hints beyond maxPending waiting events rather than queue without bound', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const batches: number[] = [];
    const hints = listener('hints.test.four.*', {
      maxPending: 3,
      handle: async (events) => {
        batches.push(events.length);
        if (batches.length === 1) await held;
        return events.map((e) => e.id);
      },
    });
    hints.start();
    await listening.flush();
    await sent('hints.test.four.x', [event('head')]);
    await eventually(() => batches.length === 1, 5_000, 'the first batch');
    for (let i = 0; i < 5; i++) await sent('hints.test.four.x', [event(`queued-${i}`)]);
    await eventually(() => hints.batched + hints.dropped === 6, 5_000, 'every hint to be counted');
    release();
    await eventually(() => batches.length === 2, 5_000, 'the second batch');
    expect(batches).toEqual([1, 3]);
    expect(hints.dropped).toBe(2);
    expect(await hints.took('queued-4')).toBe(false);
  });

  it('makes a durable delivery that arrives while its hint is handled wait for that outcome', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const hints = listener('hints.test.six.*', {
      handle: async (events) => {
        await held;
        return events.filter((e) => e.id !== 'refused').map((e) => e.id);
      },
    });
    hints.start();
    await listening.flush();
    await sent('hints.test.six.x', [event('held'), event('refused', 2)]);
    await eventually(() => hints.batched === 1, 5_000, 'the hint to be batched');
    let answered: boolean | undefined;
    const durable = hints.took('held').then((taken) => (answered = taken));
    const refused = hints.took('refused');
    await sleep(100);
    expect(answered).toBeUndefined(); // waits for the batch instead of handling the event twice
    release();
    expect(await durable).toBe(true);
    expect(await refused).toBe(false);
    expect(hints.skipped).toBe(1);
  });

  it('declines hints for a while after the durable consumer had to handle an event itself', async () => {
    const handled: string[] = [];
    const hints = listener('hints.test.seven.*', {
      busyWindowMs: 400,
      handle: async (events) => {
        handled.push(...events.map((e) => e.id));
        return events.map((e) => e.id);
      },
    });
    hints.start();
    await listening.flush();
    expect(await hints.took('came-durably')).toBe(false);
    hints.missed(); // the durable consumer handled what a hint should have brought: it is busy
    await sent('hints.test.seven.x', [event('declined')]);
    await eventually(() => hints.declined === 1, 5_000, 'the hint to be declined');
    expect(handled).toEqual([]);
    expect(await hints.took('declined')).toBe(false);
    await sleep(450);
    await sent('hints.test.seven.x', [event('later')]);
    await eventually(() => handled.length === 1, 5_000, 'a hint after the window');
    expect(handled).toEqual(['later']);
  });

  it('sends nothing, and does not throw, on a closed connection', async () => {
    const closed = await connect({ servers: nats.url });
    await closed.close();
    const sender = new HintSender(closed);
    expect(() => sender.send('hints.test.five.x', [event('x')])).not.toThrow();
    expect(sender.sent).toBe(0);
    const open = new HintSender(sending);
    open.send('hints.test.five.x', []);
    expect(open.sent).toBe(0); // nothing to hint
  });
});
