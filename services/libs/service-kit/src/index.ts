/** @agentyard/service-kit: config, logging, health, metrics, token verification, bootstrap. */
export { ConfigError, baseConfigSchema, databaseUrlSchema, isAddressOrCidr, loadConfig, type BaseConfig } from './config';
export { createLogger, httpLoggerParams } from './logging';
export { HealthController, HealthRegistry, natsCheck, postgresCheck, type HealthCheck } from './health';
export { MetricsController, MetricsRegistry } from './metrics';
export { serveInternalEndpoints, type InternalEndpoints } from './internal-endpoints';
export { AccessTokenVerifier, type AccessClaims, type AccessTokenVerifierOptions, type PublicKeyEntry } from './access-token';
export { RevocationList, isRevocableId } from './revocation-list';
export { PeriodicJob } from './periodic-job';
export { exposeLease, type LeaseStatus } from './lease-status';
export { ServiceKitModule, ROOT_LOGGER } from './service-kit.module';
export { bootstrapService, runMain, type BootstrapOptions } from './bootstrap';
export { forEachConcurrently } from './concurrency';
export { setBounded } from './bounded-map';
