/*
 * The gate's event-loop sampling, on this process's own loop: a loop kept busy is seen as late
 * within a window or two, and creates are refused with a 429 that says why; once the loop is free
 * again they are let through. "Free" is waited for, not assumed after a fixed sleep: on a machine
 * busy with other suites this process's own timers run late too, and the gate is right to see it.
 */
import { DomainError } from '@agentyard/contracts';
import { MetricsRegistry } from '@agentyard/service-kit';
import { CreateAdmission } from './create-admission';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Keeps the event loop busy for `ms`, as a saturated gateway's request handling would. */
const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* spin */
  }
};

describe('CreateAdmission’s event-loop check', () => {
  let gate: CreateAdmission;
  let metrics: MetricsRegistry;

  beforeEach(() => {
    metrics = new MetricsRegistry();
    gate = new CreateAdmission({ targetMs: 150, minLimit: 8, maxLimit: 256, maxLoopDelayMs: 50 }, metrics);
  });
  afterEach(() => gate.onModuleDestroy());

  /** Waits (≤ 10 s) until a sample window found the loop on time; early() is not called, so nothing is counted. */
  const onTime = async () => {
    const deadline = Date.now() + 10_000;
    while (!(gate.snapshot().loopDelayMs <= 50) && Date.now() < deadline) await sleep(50);
  };

  it('refuses creates while its loop runs late and admits them again once it is free', async () => {
    await sleep(300);
    await onTime();
    expect(gate.early()).toBeUndefined();

    // Loop blocked 200 ms at a time, with a tick between: timers fire ~200 ms late.
    for (let i = 0; i < 8; i++) {
      busy(200);
      await sleep(1);
    }
    const refusal = gate.early();
    expect(refusal).toBeInstanceOf(DomainError);
    expect(refusal!.status).toBe(429);
    expect(refusal!.message).toMatch(/the gateway is answering \d+ ms late, more than the 50 ms/);
    expect(refusal!.details).toMatchObject({ limit: 'gatewayLoopDelay', retryAfterSeconds: 1 });
    await expect(gate.run(async () => 'created')).rejects.toThrow(/answering \d+ ms late/);
    expect(await metrics.registry.getSingleMetricAsString('agentyard_gateway_creates_refused_total')).toMatch(/reason="loop-delay"} 2/);

    // A window or two later the loop reads on time again.
    await onTime();
    expect(gate.early()).toBeUndefined();
    await expect(gate.run(async () => 'created')).resolves.toBe('created');
  });
});
