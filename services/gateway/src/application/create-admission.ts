/**
 * The gate in front of task creation (create-admission.decide.ts says why): counts the creates in
 * flight, times each answer, samples the event loop's delay, and refuses a create with 429 before
 * it costs the tasks service anything — `early()` from an onRequest hook (before the body is
 * parsed and the token verified), `run()` around the call itself.
 */
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter } from 'prom-client';
import { DomainError } from '@agentyard/contracts';
import { MetricsRegistry } from '@agentyard/service-kit';
import { afterAnswer, initialAdmission, refusalOf, type AdmissionRefusal, type AdmissionSettings, type AdmissionState } from './create-admission.decide';

export const CREATE_ADMISSION_SETTINGS = Symbol('CREATE_ADMISSION_SETTINGS');

/** The histogram's own resolution (ms): a loop that is never late still reads about this much. */
const RESOLUTION_MS = 10;
/** How often the mean delay is read and the histogram started afresh: the window a refusal looks back on. */
const SAMPLE_EVERY_MS = 250;

@Injectable()
export class CreateAdmission implements OnModuleDestroy {
  private state: AdmissionState;
  private loopDelayMs = 0;
  private readonly histogram: IntervalHistogram;
  private readonly sampler: NodeJS.Timeout;
  private readonly refused: Counter<'reason'>;

  constructor(
    @Inject(CREATE_ADMISSION_SETTINGS) private readonly settings: AdmissionSettings,
    metrics: MetricsRegistry,
  ) {
    this.state = initialAdmission(settings);
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
    this.sampler = setInterval(() => {
      // An empty window (NaN) is no evidence of an on-time loop: after a block, this timer can run
      // just before the histogram's own, with nothing recorded since the last reset. It keeps the
      // last reading (at start, 0).
      const mean = this.histogram.mean / 1e6;
      if (Number.isFinite(mean)) this.loopDelayMs = Math.max(0, mean - RESOLUTION_MS);
      this.histogram.reset();
    }, SAMPLE_EVERY_MS);
    this.sampler.unref();
    this.refused = new Counter({
      name: 'agentyard_gateway_creates_refused_total',
      help: 'Task creations refused with 429 at the edge, by reason (in-flight limit or late event loop)',
      labelNames: ['reason'],
      registers: [metrics.registry],
    });
  }

  /** The refusal a create would get now, if any (the onRequest hook answers it without parsing the request). */
  early(): DomainError | undefined {
    const reason = refusalOf(this.state, this.loopDelayMs, this.settings);
    return reason ? this.refusal(reason) : undefined;
  }

  /** Runs `create` if the gate allows, else throws RATE_LIMITED (429, Retry-After: 1). */
  async run<T>(create: () => Promise<T>): Promise<T> {
    const refusal = this.early();
    if (refusal) throw refusal;
    this.state = { ...this.state, inFlight: this.state.inFlight + 1 };
    const started = performance.now();
    try {
      return await create();
    } finally {
      const now = performance.now();
      this.state = afterAnswer({ ...this.state, inFlight: this.state.inFlight - 1 }, now - started, now, this.settings);
    }
  }

  /** The current limit and load, and the last window's loop delay (for metrics and tests). */
  snapshot(): Readonly<AdmissionState & { loopDelayMs: number }> {
    return { ...this.state, loopDelayMs: this.loopDelayMs };
  }

  onModuleDestroy(): void {
    clearInterval(this.sampler);
    this.histogram.disable();
  }

  private refusal(reason: AdmissionRefusal): DomainError {
    this.refused.inc({ reason });
    if (reason === 'loop-delay') {
      return new DomainError(
        'RATE_LIMITED',
        `the platform is busy: the gateway is answering ${Math.round(this.loopDelayMs)} ms late, more than the ${this.settings.maxLoopDelayMs} ms it accepts new tasks at; retry in a second`,
        { limit: 'gatewayLoopDelay', loopDelayMs: Math.round(this.loopDelayMs), retryAfterSeconds: 1 },
      );
    }
    return new DomainError(
      'RATE_LIMITED',
      `the platform is busy: ${this.state.inFlight} task creations are in progress, the most it takes at once now; retry in a second`,
      { limit: 'createsInFlight', inFlight: this.state.inFlight, retryAfterSeconds: 1 },
    );
  }
}
