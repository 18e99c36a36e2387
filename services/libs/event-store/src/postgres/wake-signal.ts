/**
 * A level-triggered wake-up for a polling loop: a signal that arrives while the loop is busy is kept,
 * so the next `wait` returns at once and no notification is lost between a read and the wait after it.
 */
export class WakeSignal {
  private pending = false;
  private waiter: (() => void) | undefined;

  /** Wakes the current or the next `wait`. */
  signal(): void {
    this.pending = true;
    const wake = this.waiter;
    this.waiter = undefined;
    wake?.();
  }

  /** Forgets a signal that arrived before now (call before reading). */
  clear(): void {
    this.pending = false;
  }

  /** Resolves on a signal (also one that came since the last `clear`) or after `timeoutMs`. */
  wait(timeoutMs: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (this.waiter === done) this.waiter = undefined;
        resolve();
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.pending = false;
        resolve();
      };
      this.waiter = done;
    });
  }
}
