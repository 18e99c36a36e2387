import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { HealthController, HealthRegistry } from './health';
import { httpLoggerParams } from './logging';
import { MetricsController, MetricsRegistry } from './metrics';

export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** Health, metrics and request logging for one service. Import once in the root module. */
@Global()
@Module({})
export class ServiceKitModule {
  static forRoot(options: { logger: Logger }): DynamicModule {
    return {
      module: ServiceKitModule,
      imports: [LoggerModule.forRoot(httpLoggerParams(options.logger))],
      controllers: [HealthController, MetricsController],
      providers: [HealthRegistry, MetricsRegistry, { provide: ROOT_LOGGER, useValue: options.logger }],
      exports: [HealthRegistry, MetricsRegistry, ROOT_LOGGER],
    };
  }
}
