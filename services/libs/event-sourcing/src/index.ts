/** @agentyard/event-sourcing: run deciders against the event store and projections into read models. */
export {
  fold,
  handleCommand,
  handleCommands,
  StateCache,
  type CommandOutcome,
  type Decider,
  type DecidedEvent,
  type DecidedEventFor,
  type EventParser,
  type HandleCommandOptions,
  type HandleCommandResult,
  type HandleCommandsOptions,
} from './decider';
export { ProjectionRunner, type ProjectionRunnerOptions } from './projection-runner';
export { excludedColumns } from './read-model-sql';
export { deciderSpec, type DeciderSpec, type DeciderSpecGiven, type DeciderSpecOptions, type DeciderSpecWhen, type GivenEvent } from './decider-spec';
