import { WakeSignal } from './wake-signal';

describe('WakeSignal', () => {
  describe('when signalled while nobody waits', () => {
    it('lets the next wait return at once', async () => {
      const wake = new WakeSignal();
      wake.signal();
      const started = Date.now();
      await wake.wait(10_000);
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it('forgets the signal after clear', async () => {
      jest.useFakeTimers();
      try {
        const wake = new WakeSignal();
        wake.signal();
        wake.clear();
        let woke = false;
        const waiting = wake.wait(500).then(() => (woke = true));
        await Promise.resolve();
        expect(woke).toBe(false);
        jest.advanceTimersByTime(500);
        await waiting;
        expect(woke).toBe(true);
      } finally {
        jest.useRealTimers();
      }
    });
  });

  describe('when signalled during a wait', () => {
    it('wakes the waiter before its timeout', async () => {
      const wake = new WakeSignal();
      const waiting = wake.wait(10_000);
      wake.signal();
      const started = Date.now();
      await waiting;
      expect(Date.now() - started).toBeLessThan(1_000);
    });
  });
});
