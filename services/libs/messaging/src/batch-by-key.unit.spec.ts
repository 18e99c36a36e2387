import type { EventBatchItem, JetStreamDelivery } from './nats-jetstream.context';
import { handleBatchByKey, handleBatchInOrder } from './batch-by-key';

const item = (key: string, n: number): EventBatchItem => ({
  data: { key, n },
  subject: `x.${key}`,
  headers: undefined,
  delivery: { streamSequence: n } as unknown as JetStreamDelivery,
});
const items = [item('a', 1), item('b', 2), item('a', 3), item('a', 4)];
const nOf = (i: EventBatchItem) => (i.data as { n: number }).n;

describe('handleBatchInOrder', () => {
  it('starts every handler at once, in batch order, and reports each failure on its own item', async () => {
    const started: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const done = handleBatchInOrder(items, async (i) => {
      started.push(nOf(i));
      await gate;
      if (nOf(i) === 3) throw new Error('three failed');
    });
    // All started before any finished (one key's items reach their queue together).
    expect(started).toEqual([1, 2, 3, 4]);
    release();
    const results = await done;
    expect(results.map((r) => (r instanceof Error ? r.message : r))).toEqual([undefined, undefined, 'three failed', undefined]);
  });
});

describe('handleBatchByKey', () => {
  it('runs one key after the other in order, different keys at once', async () => {
    const started: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const done = handleBatchByKey(
      items,
      (i) => i.subject,
      async (i) => {
        started.push(nOf(i));
        await gate;
      },
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2]);
    release();
    await done;
    expect(started).toEqual([1, 2, 3, 4]);
  });
});
