import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultStaleAfterMs, judgeOrder, nothingSeen, OrdersSeenFile, replayOverrides } from './order-replay';

const age = 120_000;

describe('judgeOrder', () => {
  it('starts the first assignment and every newer one, moving what was seen forward', () => {
    expect(judgeOrder({ storedMs: 1_000, seq: 1 }, nothingSeen, age)).toEqual({ seen: { newestMs: 1_000, highestSeq: 1 }, stale: false });
    expect(judgeOrder({ storedMs: 5_000, seq: 9 }, { newestMs: 1_000, highestSeq: 1 }, age)).toEqual({
      seen: { newestMs: 5_000, highestSeq: 9 },
      stale: false,
    });
  });

  it('starts an earlier one within the stale age (a redelivery after the ack wait), never moving what was seen back', () => {
    expect(judgeOrder({ storedMs: 80_000, seq: 5 }, { newestMs: 200_000, highestSeq: 9 }, age)).toEqual({
      seen: { newestMs: 200_000, highestSeq: 9 },
      stale: false,
    });
  });

  it('calls stale one stored before the highest sequence seen and more than the stale age before the newest: a replay', () => {
    expect(judgeOrder({ storedMs: 79_999, seq: 5 }, { newestMs: 200_000, highestSeq: 9 }, age)).toMatchObject({ stale: true });
    expect(judgeOrder({ storedMs: 1, seq: 1 }, { newestMs: 7 * 24 * 3600_000, highestSeq: 40_000 }, age)).toMatchObject({ stale: true });
  });

  it('starts an old-looking one with a higher sequence (the server clock set back) or a newer time (a recreated stream)', () => {
    expect(judgeOrder({ storedMs: 1_000, seq: 10 }, { newestMs: 200_000, highestSeq: 9 }, age)).toEqual({
      seen: { newestMs: 200_000, highestSeq: 10 },
      stale: false,
    });
    expect(judgeOrder({ storedMs: 300_000, seq: 1 }, { newestMs: 200_000, highestSeq: 9 }, age)).toEqual({
      seen: { newestMs: 300_000, highestSeq: 9 },
      stale: false,
    });
  });

  it('waits four assignment leases (30 s each by default) before calling one stale', () => {
    expect(defaultStaleAfterMs).toBe(120_000);
  });
});

describe('OrdersSeenFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'orders-seen-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives back what it saved, across instances (an agent restart)', () => {
    new OrdersSeenFile(dir).save({ newestMs: 123, highestSeq: 7 });
    expect(new OrdersSeenFile(dir).load()).toEqual({ newestMs: 123, highestSeq: 7 });
  });

  it('writes at most once a second', () => {
    const file = new OrdersSeenFile(dir);
    file.save({ newestMs: 1, highestSeq: 1 }, 10_000);
    file.save({ newestMs: 2, highestSeq: 2 }, 10_500);
    expect(JSON.parse(readFileSync(join(dir, 'orders.json'), 'utf8'))).toEqual({ newestMs: 1, highestSeq: 1 });
    file.save({ newestMs: 3, highestSeq: 3 }, 11_001);
    expect(new OrdersSeenFile(dir).load()).toEqual({ newestMs: 3, highestSeq: 3 });
  });

  it('loads nothing from an absent, unreadable or malformed file (a first start)', () => {
    expect(new OrdersSeenFile(dir).load()).toEqual(nothingSeen);
    writeFileSync(join(dir, 'orders.json'), '{"newestMs":');
    expect(new OrdersSeenFile(dir).load()).toEqual(nothingSeen);
    writeFileSync(join(dir, 'orders.json'), '{"newestMs":-1,"highestSeq":"9"}');
    expect(new OrdersSeenFile(dir).load()).toEqual(nothingSeen);
  });
});

describe('replayOverrides', () => {
  it('takes positive whole numbers from the test variables and nothing else', () => {
    expect(replayOverrides({})).toEqual({});
    expect(replayOverrides({ AGENTYARD_TEST_STALE_ORDER_MS: '1500', AGENTYARD_TEST_RECENT_LIMIT: '1' })).toEqual({ staleAfterMs: 1500, recentLimit: 1 });
    expect(replayOverrides({ AGENTYARD_TEST_STALE_ORDER_MS: '-5', AGENTYARD_TEST_RECENT_LIMIT: '1.5' })).toEqual({});
    expect(replayOverrides({ AGENTYARD_TEST_STALE_ORDER_MS: 'soon' })).toEqual({});
  });
});
