/** @agentyard/event-sourcing: run deciders against the event store and projections into read models. */
export {
  fold,
  handleCommand,
  handleCommandInTransaction,
  handleCommands,
  StateCache,
  type CommandOutcome,
  type Decider,
  type DecidedEvent,
  type DecidedEventFor,
  type EventParser,
  type HandleCommandInTransactionOptions,
  type HandleCommandInTransactionResult,
  type HandleCommandOptions,
  type HandleCommandResult,
  type HandleCommandsOptions,
  type TransactionalEventStore,
} from './decider';
export { ProjectionRunner, type ProjectionRunnerOptions, type ProjectionSource } from './projection-runner';
export { excludedColumns } from './read-model-sql';
export { deciderSpec, type DeciderSpec, type DeciderSpecGiven, type DeciderSpecOptions, type DeciderSpecWhen, type GivenEvent } from './decider-spec';
