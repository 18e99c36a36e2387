/*
 * The gate's event-loop sampling, on this process's own loop: a loop kept busy is seen as late
 * within a window or two, and creates are refused with a 429 that says why; once the loop is free
 * again they are let through.
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

  it('refuses creates while its loop runs late and admits them again once it is free', async () => {
    await sleep(600);
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

    // Two quiet windows later the loop reads on time again.
    await sleep(700);
    expect(gate.early()).toBeUndefined();
    await expect(gate.run(async () => 'created')).resolves.toBe('created');
  });
});
