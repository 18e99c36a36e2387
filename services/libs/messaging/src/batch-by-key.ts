/*
 * Handling a batch of JetStream messages where order matters per key (one task's, one run's):
 * messages of one key one after the other in batch (stream) order, different keys at once, each
 * in its own message's trace. A failure fails that message alone (it is redelivered, as with
 * one-at-a-time handling); the key's next message still runs.
 */
import { forEachConcurrently } from '@agentyard/service-kit';
import type { EventBatchItem } from './nats-jetstream.context';
import { extractTrace, runWithTrace } from './trace-context';

/** Keys handled at once by default: enough to overlap round trips, within a pool's size. */
export const KEYS_AT_ONCE = 16;

/** Handles `items` grouped by `keyOf`; returns per item undefined (handled) or its error. */
export async function handleBatchByKey(
  items: EventBatchItem[],
  keyOf: (item: EventBatchItem) => string,
  handle: (item: EventBatchItem) => Promise<void>,
  keysAtOnce = KEYS_AT_ONCE,
): Promise<unknown[]> {
  const results: unknown[] = items.map(() => undefined);
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  await forEachConcurrently([...groups.values()], keysAtOnce, async (group) => {
    for (const i of group) {
      const item = items[i]!;
      try {
        await runWithTrace(extractTrace(item.headers), () => handle(item));
      } catch (error) {
        results[i] = error ?? new Error('handler failed');
      }
    }
  });
  return results;
}

/**
 * Like handleBatchByKey, for a handler that only *enqueues* its work, synchronously and in call
 * order, on a queue that keeps each key's order itself (the workflows service's per-run command
 * queue): every item's handler is started at once, in batch order, so a key's messages reach
 * its queue together and can be decided and appended as one batch — a fan-in of a thousand
 * results costs a few appends instead of a thousand one after the other. Per item: undefined
 * (handled) or its error.
 */
export async function handleBatchInOrder(items: EventBatchItem[], handle: (item: EventBatchItem) => Promise<void>): Promise<unknown[]> {
  return Promise.all(
    items.map((item) =>
      runWithTrace(extractTrace(item.headers), () => handle(item)).then(
        () => undefined,
        (error: unknown) => error ?? new Error('handler failed'),
      ),
    ),
  );
}
