/** @agentyard/contracts: the only code services, web and worker share — schemas, types, names. */
export * from './common/envelope';
export * from './common/errors';
export * from './common/ids';
export * from './common/subjects';
export * from './common/text';
export * from './common/versioning';
export * from './auth/auth.http';
export * from './auth/auth.messages';
export { toJsonSchemas, httpSchemas, type JsonSchema } from './json-schema';
export * from './tasks/task.schemas';
export * from './tasks/artifact.schemas';
export * from './workers/worker.schemas';
export * from './allocation/allocation.schemas';
export * from './work/work.schemas';
export * from './auth/api-tokens';
export * from './workflows/workflow.schemas';
export * from './secrets/secrets';
export * from './events';
