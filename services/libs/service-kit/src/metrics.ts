/** Prometheus metrics: one registry per process, default Node metrics, an HTTP histogram. */
import { Controller, Get, Header, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Interval (ms) of the event-loop delay histogram behind the nodejs_eventloop_lag_* percentiles. */
export const EVENT_LOOP_SAMPLE_MS = 100;

@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly messagesHandled: Counter<'subject' | 'outcome'>;

  constructor() {
    // The event-loop delay histogram samples with a timer: prom-client's default of every 10 ms
    // woke each idle service 100 times a second, ~10 ms of CPU a second each (most of an idle
    // platform's CPU once the relays and projections stopped polling). Every 100 ms catches any
    // block of 100 ms or more and a shorter one in proportion; its values include the interval
    // (an idle loop reads ~0.1 s in nodejs_eventloop_lag_p50_seconds, subtract it) — the
    // nodejs_eventloop_lag_seconds gauge, measured at each scrape, is unaffected.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    this.httpDuration = new Histogram({
      name: 'agentyard_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.messagesHandled = new Counter({
      name: 'agentyard_messages_handled_total',
      help: 'NATS requests and events handled, by subject and outcome',
      labelNames: ['subject', 'outcome'],
      registers: [this.registry],
    });
  }
}

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsRegistry) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
