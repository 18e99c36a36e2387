import { AppendFollower, type AppendSource } from './append-follower';

/** A store whose appends the test announces by hand. */
function announcingStore(): AppendSource & { appended(position?: bigint): void; closed: boolean } {
  let listener: ((position?: bigint) => void) | undefined;
  const store = {
    closed: false,
    onAppended: async (l: (position?: bigint) => void) => {
      listener = l;
      return { close: async () => void (store.closed = true) };
    },
    appended: (position?: bigint) => listener?.(position),
  };
  return store;
}

/** How long `wait` took to settle, in ms. */
async function timed(wait: Promise<void>): Promise<number> {
  const started = performance.now();
  await wait;
  return performance.now() - started;
}

describe('AppendFollower', () => {
  describe('once caught up', () => {
    it('waits the idle interval when nothing was appended', async () => {
      const follower = new AppendFollower(announcingStore(), { idleMs: 60, pollMs: 5_000 });
      await follower.open();
      follower.reading();
      expect(await timed(follower.caughtUp(10n))).toBeGreaterThanOrEqual(50);
    });

    it('reads again at once after an append announced while it was reading', async () => {
      const store = announcingStore();
      const follower = new AppendFollower(store, { idleMs: 10_000, pollMs: 10_000 });
      await follower.open();
      follower.reading();
      store.appended(); // another process's append, during the read
      expect(await timed(follower.caughtUp(10n))).toBeLessThan(1_000);
    });

    it('looks again within milliseconds while an announced position lies beyond what it read (not visible yet)', async () => {
      const store = announcingStore();
      const follower = new AppendFollower(store, { idleMs: 10_000, pollMs: 10_000 });
      await follower.open();
      store.appended(20n);
      follower.reading(); // the read that followed saw only up to 10
      expect(await timed(follower.caughtUp(10n))).toBeLessThan(1_000);
      follower.reading(); // now it saw 20: nothing announced beyond it
      const waiting = follower.caughtUp(20n);
      let settled = false;
      void waiting.then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 100));
      expect(settled).toBe(false);
      follower.interrupt();
      await waiting;
    });
  });

  describe('a wake-up for a position', () => {
    /** Settles `wait` by hand after `ms` unless a wake-up did; says which. */
    async function woken(follower: AppendFollower, wait: Promise<void>, ms = 100): Promise<boolean> {
      let settled = false;
      void wait.then(() => (settled = true));
      await new Promise((r) => setTimeout(r, ms));
      const was = settled;
      follower.interrupt();
      await wait;
      return was;
    }

    it('is skipped when the reader has read past it (its own append’s NOTIFY, heard late), not otherwise', async () => {
      const store = announcingStore();
      const follower = new AppendFollower(store, { idleMs: 10_000, pollMs: 10_000 });
      await follower.open();
      follower.reading();
      let wait = follower.caughtUp(30n);
      store.appended(30n); // already read: no read for nothing
      store.appended(12n);
      expect(await woken(follower, wait)).toBe(false);

      follower.reading();
      wait = follower.caughtUp(30n);
      store.appended(31n); // new
      expect(await woken(follower, wait)).toBe(true);

      follower.reading();
      wait = follower.caughtUp(31n);
      store.appended(); // no position (an appending transaction's own NOTIFY): always read
      expect(await woken(follower, wait)).toBe(true);
    });

    it('is not skipped after a failed read, whose reader may start again from further back', async () => {
      const store = announcingStore();
      const follower = new AppendFollower(store, { idleMs: 10_000, pollMs: 10_000 });
      await follower.open();
      follower.reading();
      follower.interrupt();
      await follower.caughtUp(30n);
      const paused = follower.pause(10_000);
      store.appended(20n);
      expect(await woken(follower, paused)).toBe(true);
    });
  });

  describe('with a store that cannot announce appends', () => {
    it('polls every pollMs', async () => {
      const follower = new AppendFollower({}, { idleMs: 10_000, pollMs: 30 });
      await follower.open();
      follower.reading();
      expect(await timed(follower.caughtUp(undefined))).toBeLessThan(1_000);
    });
  });

  it('stops listening on close', async () => {
    const store = announcingStore();
    const follower = new AppendFollower(store, { idleMs: 10, pollMs: 10 });
    await follower.open();
    await follower.close();
    expect(store.closed).toBe(true);
  });
});
