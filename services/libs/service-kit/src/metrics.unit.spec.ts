import { EVENT_LOOP_SAMPLE_MS, MetricsRegistry } from './metrics';

describe('MetricsRegistry', () => {
  // The histogram's timer is what an idle service wakes up for: prom-client's default (10 ms) woke
  // each one 100 times a second. Its readings include the interval, which is how the test sees it.
  it('samples the event-loop delay every EVENT_LOOP_SAMPLE_MS (100 ms), not every 10 ms', async () => {
    expect(EVENT_LOOP_SAMPLE_MS).toBe(100);
    const metrics = new MetricsRegistry();
    await new Promise((resolve) => setTimeout(resolve, 650));
    const text = await metrics.registry.metrics();
    const p50 = Number(/^nodejs_eventloop_lag_p50_seconds (\S+)$/m.exec(text)?.[1]);
    expect(p50).toBeGreaterThanOrEqual(0.09);
  });
});
