/** Starts real nats-server and Postgres processes for tests, benchmarks and `npm start`. */
export { freePort, waitForPort, isReachable } from './free-port';
export { startNatsServer, findNatsServerBinary, natsInstallHint, type NatsServer, type NatsServerOptions } from './nats-server';
export { startPostgresServer, createDatabase, findPostgresBinDir, type PostgresServer, type PostgresServerOptions } from './postgres-server';
export { testDatabase, testNats } from './test-env';
export { startService, type ServiceProcess } from './service-process';
export {
  startPlatform,
  platformServices,
  serviceManifest,
  type Platform,
  type PlatformService,
  type ServiceManifestEntry,
  type WorkerAgentProcess,
} from './platform';
export { agentNodeFlags } from './agent-flags';
export { startGitHttpServer, gitHttpBackend, type GitHttpServer } from './git-http-server';
export { createNatsAuth, type NatsAuthSetup } from './nats-auth';
export { foreignSubjects, ownSubjects, probeNatsPermissions, type SubjectProbe } from './nats-subject-families';
// Stand-ins of third-party AI APIs (the only stand-ins the tests may use), speaking each vendor's HTTP API.
export * from './stand-ins/anthropic.stand-in';
export * from './stand-ins/gemini.stand-in';
export * from './stand-ins/openai-responses.stand-in';
export * from './stand-ins/openai-chat.stand-in';
export * from './stand-ins/ollama.stand-in';
