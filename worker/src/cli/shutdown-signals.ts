/*
 * SIGTERM/SIGINT handling for `start`, installed once before anything slow: the first signal asks
 * for a graceful stop (abort `signal`, resolve `requested`); a second one asks to skip the
 * remaining grace period (resolve `hurried`). Installing it early means a signal during
 * registration retries or the first NATS connect still exits cleanly with code 0.
 */
export class ShutdownSignals {
  private readonly controller = new AbortController();
  private hurry: () => void = () => undefined;
  private count = 0;
  /** Resolves on the first signal. */
  readonly requested: Promise<NodeJS.Signals>;
  /** Resolves on the second signal. */
  readonly hurried = new Promise<void>((resolve) => (this.hurry = resolve));
  private readonly handler: (signal: NodeJS.Signals) => void;

  constructor(private readonly onSignal: (signal: NodeJS.Signals, count: number) => void = () => undefined) {
    let request: (signal: NodeJS.Signals) => void = () => undefined;
    this.requested = new Promise((resolve) => (request = resolve));
    this.handler = (signal) => {
      this.count++;
      this.onSignal(signal, this.count);
      if (this.count === 1) {
        this.controller.abort(new Error(`${signal} received`));
        request(signal);
      } else {
        this.hurry();
      }
    };
    process.on('SIGTERM', this.handler);
    process.on('SIGINT', this.handler);
  }

  /** Aborted on the first signal (for retry loops). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  dispose(): void {
    process.off('SIGTERM', this.handler);
    process.off('SIGINT', this.handler);
  }
}
