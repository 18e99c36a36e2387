/**
 * The part of the contracts the worker agent uses, as its own entry point
 * (`@agentyard/contracts/agent`): the agent runs on users' machines, and loading every context's
 * schemas (auth, allocation, the OpenAPI conversion) costs it about 7 MB of resident memory.
 */
export * from './common/envelope';
export * from './common/errors';
export * from './common/ids';
export * from './common/subjects';
export * from './common/text';
export * from './tasks/tool-input.schemas';
export * from './tasks/artifact-names';
export * from './secrets/secret-ref';
export * from './workers/worker-registration.schemas';
export * from './work/work.schemas';
