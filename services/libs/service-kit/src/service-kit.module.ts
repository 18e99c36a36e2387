import { DynamicModule, Global, Module, type OnApplicationShutdown } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { HealthController, HealthRegistry } from './health';
import { httpLoggerParams } from './logging';
import { MetricsController, MetricsRegistry } from './metrics';

export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** Runs the service's own clean-up (relay, NATS, pools) after Nest has stopped its handlers. */
class ShutdownHook implements OnApplicationShutdown {
  constructor(private readonly run: () => Promise<void>) {}
  async onApplicationShutdown(): Promise<void> {
    await this.run();
  }
}

/** Health, metrics and request logging for one service. Import once in the root module. */
@Global()
@Module({})
export class ServiceKitModule {
  /**
   * `metricsRoute: false` leaves /metrics off the app's own port (a public edge serves it with
   * serveInternalEndpoints on an internal port instead).
   */
  static forRoot(options: { logger: Logger; onShutdown?: () => Promise<void>; metricsRoute?: boolean }): DynamicModule {
    return {
      module: ServiceKitModule,
      imports: [LoggerModule.forRoot(httpLoggerParams(options.logger))],
      controllers: options.metricsRoute === false ? [HealthController] : [HealthController, MetricsController],
      providers: [
        HealthRegistry,
        MetricsRegistry,
        { provide: ROOT_LOGGER, useValue: options.logger },
        { provide: ShutdownHook, useValue: new ShutdownHook(options.onShutdown ?? (async () => undefined)) },
      ],
      exports: [HealthRegistry, MetricsRegistry, ROOT_LOGGER],
    };
  }
}
