/*
 * The given/when/then harness for deciders (emmett's DeciderSpecification is the model):
 *
 *   deciderSpec(taskDecider).given(created, queued).when(assign).then([assigned]);
 *   deciderSpec(taskDecider).given().when(cancel).thenThrows('NOT_FOUND');
 *
 * `given` folds its events the way the service does (`fold`: each one parsed by the decider's
 * registry), so a test cannot start from an event the store would never hold. Events are
 * compared as JSON — what the store keeps — so an absent field and an `undefined` one are the
 * same, as in Jest's toEqual. Failures throw node's AssertionError with a diff; no test framework
 * is imported, so the harness is usable from any runner. Tested in decider-spec.unit.spec.ts.
 */
import { AssertionError, deepStrictEqual } from 'node:assert';
import { DomainError, type Envelope } from '@agentyard/contracts';
import { fold, type DecidedEventFor, type Decider } from './decider';

/** A given event with the instant it happened (evolve may read `occurredAt`). */
export interface GivenEvent<E extends Envelope> {
  event: DecidedEventFor<E>;
  occurredAt: string;
}

export interface DeciderSpecOptions {
  /** Stream id of the given events. Default `spec-stream`. */
  streamId?: string;
  /** `occurredAt` of a given event that does not name one. Default 2026-01-01T00:00:00.000Z. */
  occurredAt?: string;
}

/** What a command led to, ready to be checked. */
export interface DeciderSpecWhen<E extends Envelope> {
  /** Asserts the command decides exactly these events, in order. */
  then(expected: ReadonlyArray<DecidedEventFor<E>>): void;
  /** Asserts the command decides nothing (an idempotent repeat, a stale report). */
  thenNothing(): void;
  /** Asserts the command is refused with a DomainError of `code` (and a message matching `message`). */
  thenThrows(code: DomainError['code'], message?: string | RegExp): void;
  /** The decided events, for the rare check `then` cannot express. Throws if the command was refused. */
  decided(): DecidedEventFor<E>[];
}

export interface DeciderSpecGiven<S, C, E extends Envelope> {
  /** The state the given events folded to. */
  readonly state: S;
  when(command: C): DeciderSpecWhen<E>;
}

export interface DeciderSpec<S, C, E extends Envelope> {
  /** Starts from the state these events fold to (none: the initial state). */
  given(...events: Array<DecidedEventFor<E> | GivenEvent<E>>): DeciderSpecGiven<S, C, E>;
  /** Starts from a state built by hand (a decider whose facts are not an event stream). */
  givenState(state: S): DeciderSpecGiven<S, C, E>;
}

const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value) ?? 'null');

/** A given/when/then specification of `decider`. */
export function deciderSpec<S, C, E extends Envelope>(decider: Decider<S, C, E>, options: DeciderSpecOptions = {}): DeciderSpec<S, C, E> {
  const streamId = options.streamId ?? 'spec-stream';
  const defaultAt = options.occurredAt ?? '2026-01-01T00:00:00.000Z';

  const from = (state: S): DeciderSpecGiven<S, C, E> => ({
    state,
    when(command: C): DeciderSpecWhen<E> {
      const run = (): { ok: true; events: DecidedEventFor<E>[] } | { ok: false; error: unknown } => {
        try {
          return { ok: true, events: decider.decide(command, state) };
        } catch (error) {
          return { ok: false, error };
        }
      };
      const decided = (): DecidedEventFor<E>[] => {
        const outcome = run();
        if (!outcome.ok) throw new AssertionError({ message: `expected events, but the command was refused: ${String(outcome.error)}` });
        return outcome.events;
      };
      return {
        then(expected) {
          deepStrictEqual(json(decided()), json(expected), 'the command decided other events than expected');
        },
        thenNothing() {
          deepStrictEqual(json(decided()), [], 'the command was expected to decide nothing');
        },
        thenThrows(code, message) {
          const outcome = run();
          if (outcome.ok) throw new AssertionError({ message: `expected a ${code} refusal, but the command decided ${JSON.stringify(outcome.events)}` });
          const error = outcome.error;
          if (!(error instanceof DomainError)) throw new AssertionError({ message: `expected a DomainError ${code}, got ${String(error)}` });
          deepStrictEqual(error.code, code, `expected a ${code} refusal, got ${error.code}: ${error.message}`);
          if (message !== undefined) {
            const matches = typeof message === 'string' ? error.message.includes(message) : message.test(error.message);
            if (!matches) throw new AssertionError({ message: `the ${code} refusal says "${error.message}", expected it to match ${String(message)}` });
          }
        },
        decided,
      };
    },
  });

  return {
    given(...events) {
      const envelopes = events.map((given, i): Envelope => {
        const { event, occurredAt } = 'event' in given ? given : { event: given, occurredAt: defaultAt };
        return {
          id: `00000000-0000-7000-8000-${String(i + 1).padStart(12, '0')}`,
          type: event.type,
          version: event.version ?? 1,
          streamId,
          streamVersion: i + 1,
          occurredAt,
          data: event.data,
          metadata: { correlationId: 'spec', causationId: 'spec' },
        };
      });
      return from(fold(decider, envelopes));
    },
    givenState: from,
  };
}
