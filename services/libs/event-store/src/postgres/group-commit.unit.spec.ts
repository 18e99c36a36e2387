import { testEvent } from '../testing/event-store.contract';
import { VersionConflict, type AppendResult } from '../event-store.port';
import { GroupCommitter, type AppendSender, type BatchItemOutcome, type QueuedAppend } from './group-commit';

/** A sender that records what it is asked and answers when the test says so. */
class ScriptedSender implements AppendSender {
  readonly calls: { kind: 'one' | 'many'; streams: string[]; answer(outcome?: unknown): void; fail(error: unknown): void }[] = [];
  /** How appendMany answers each item, by stream id (default: fulfilled). */
  readonly manyOutcome = new Map<string, BatchItemOutcome>();

  appendOne(item: QueuedAppend): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.calls.push({ kind: 'one', streams: [item.streamId], answer: () => resolve(resultFor(item)), fail: reject });
    });
  }

  appendMany(items: QueuedAppend[]): Promise<BatchItemOutcome[]> {
    return new Promise((resolve, reject) => {
      this.calls.push({
        kind: 'many',
        streams: items.map((i) => i.streamId),
        answer: () => resolve(items.map((i) => this.manyOutcome.get(i.streamId) ?? { status: 'fulfilled', value: resultFor(i) })),
        fail: reject,
      });
    });
  }

  /** Answers the oldest unanswered call. */
  async answerNext(): Promise<void> {
    const call = this.calls[this.answered++];
    if (!call) throw new Error(`no call ${this.answered} to answer; ${this.calls.length} made`);
    call.answer();
    await settle();
  }

  private answered = 0;
}

function resultFor(item: QueuedAppend): AppendResult {
  return { nextExpectedVersion: item.events.length, lastPosition: BigInt(item.streamId.length) };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
const item = (streamId: string, events = 1): QueuedAppend => ({ streamId, events: Array.from({ length: events }, () => testEvent()), expected: 'any' });

describe('GroupCommitter', () => {
  describe('when nothing is in flight', () => {
    it('sends a lone append on its own, at once', async () => {
      const sender = new ScriptedSender();
      const committer = new GroupCommitter(sender, { maxAppends: 64, maxEvents: 65_536 });
      const done = committer.append(item('a'));
      await settle();
      expect(sender.calls.map((c) => c.kind)).toEqual(['one']);
      await sender.answerNext();
      await expect(done).resolves.toEqual({ nextExpectedVersion: 1, lastPosition: 1n });
    });

    it('gathers appends issued in the same turn into one batch, in stream order', async () => {
      const sender = new ScriptedSender();
      const committer = new GroupCommitter(sender, { maxAppends: 64, maxEvents: 65_536 });
      const done = Promise.all([committer.append(item('c')), committer.append(item('a')), committer.append(item('b'))]);
      await settle();
      expect(sender.calls.map((c) => [c.kind, c.streams])).toEqual([['many', ['a', 'b', 'c']]]);
      await sender.answerNext();
      await done;
    });
  });

  describe('when an append is in flight', () => {
    it('queues the next ones and sends them together once it returns', async () => {
      const sender = new ScriptedSender();
      const committer = new GroupCommitter(sender, { maxAppends: 64, maxEvents: 65_536 });
      const first = committer.append(item('first'));
      await settle();
      const later = [committer.append(item('x'))];
      await settle();
      later.push(committer.append(item('y')));
      await settle();
      expect(sender.calls).toHaveLength(1);
      await sender.answerNext();
      expect(sender.calls.map((c) => c.streams)).toEqual([['first'], ['x', 'y']]);
      await sender.answerNext();
      await Promise.all([first, ...later]);
    });

    it('caps a batch by appends and by events, never leaving an append out for good', async () => {
      const sender = new ScriptedSender();
      const committer = new GroupCommitter(sender, { maxAppends: 3, maxEvents: 10 });
      const first = committer.append(item('first'));
      await settle();
      const queued = ['a', 'b', 'c', 'd'].map((s) => committer.append(item(s)));
      queued.push(committer.append(item('huge', 20)));
      queued.push(committer.append(item('e', 6)), committer.append(item('f', 6)));
      for (let i = 0; i < 6; i++) await sender.answerNext();
      // 'huge' exceeds the event cap alone and goes alone; 'e' + 'f' (12 events) do not fit one batch.
      expect(sender.calls.map((c) => c.streams)).toEqual([['first'], ['a', 'b', 'c'], ['d'], ['huge'], ['e'], ['f']]);
      await Promise.all([first, ...queued]);
    });
  });

  describe('when the batch cannot take an append', () => {
    it('settles the others with their own outcomes and appends the given-back one on its own', async () => {
      const sender = new ScriptedSender();
      const conflict = new VersionConflict('b', 3, 1);
      sender.manyOutcome.set('b', { status: 'rejected', reason: conflict });
      sender.manyOutcome.set('c', { status: 'retry' });
      const committer = new GroupCommitter(sender, { maxAppends: 64, maxEvents: 65_536 });
      const outcomes = Promise.allSettled([committer.append(item('a')), committer.append(item('b')), committer.append(item('c'))]);
      await settle();
      await sender.answerNext();
      expect(sender.calls.map((c) => [c.kind, c.streams])).toEqual([
        ['many', ['a', 'b', 'c']],
        ['one', ['c']],
      ]);
      await sender.answerNext();
      const [a, b, c] = await outcomes;
      expect(a).toEqual({ status: 'fulfilled', value: { nextExpectedVersion: 1, lastPosition: 1n } });
      expect(b).toEqual({ status: 'rejected', reason: conflict });
      expect(c).toEqual({ status: 'fulfilled', value: { nextExpectedVersion: 1, lastPosition: 1n } });
    });

    it('appends every item of a failed statement again on its own', async () => {
      const sender = new ScriptedSender();
      const committer = new GroupCommitter(sender, { maxAppends: 64, maxEvents: 65_536 });
      const outcomes = Promise.allSettled([committer.append(item('a')), committer.append(item('b'))]);
      await settle();
      sender.calls[0]?.fail(new Error('connection lost'));
      await settle();
      expect(sender.calls.map((c) => [c.kind, c.streams])).toEqual([
        ['many', ['a', 'b']],
        ['one', ['a']],
        ['one', ['b']],
      ]);
      sender.calls[1]?.fail(new Error('still down'));
      sender.calls[2]?.answer();
      const [a, b] = await outcomes;
      expect(a).toMatchObject({ status: 'rejected', reason: new Error('still down') });
      expect(b).toMatchObject({ status: 'fulfilled' });
      await committer.idle();
    });
  });
});
