/*
 * A job that runs every `intervalMs` after the previous run finished (fixed delay, never two runs
 * at once, so a slow run cannot pile up). A failing run is reported and the next one still comes.
 * `stop()` resolves once a run in progress has finished, for a clean shutdown.
 */
export class PeriodicJob {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly intervalMs: number,
    private readonly run: () => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.run()
        .then(() => undefined, this.onError)
        .finally(() => {
          this.current = undefined;
          this.schedule();
        });
    }, this.intervalMs);
  }
}
