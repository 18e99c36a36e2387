import { AssertionError } from 'node:assert';
import { z } from 'zod';
import { defineEvent, DomainError, EventRegistry, type EventOf } from '@agentyard/contracts';
import { deciderSpec } from './decider-spec';
import type { Decider } from './decider';

// A counter that may be opened once and raised by a positive step: small, typed, registry-backed.
const counterEvents = new EventRegistry().register(
  defineEvent('CounterOpened', 1, z.object({ counterId: z.string() })),
  defineEvent('CounterRaised', 1, z.object({ by: z.number().int().positive() })),
);
type CounterEvent = EventOf<typeof counterEvents>;
interface Counter {
  open: boolean;
  value: number;
  openedAt: string | null;
}
type CounterCommand = { kind: 'Open'; counterId: string } | { kind: 'Raise'; by: number };

const counter: Decider<Counter, CounterCommand, CounterEvent> = {
  events: counterEvents,
  initialState: () => ({ open: false, value: 0, openedAt: null }),
  evolve(state, event) {
    switch (event.type) {
      case 'CounterOpened':
        return { ...state, open: true, openedAt: event.occurredAt };
      case 'CounterRaised':
        return { ...state, value: state.value + event.data.by };
    }
  },
  decide(command, state) {
    switch (command.kind) {
      case 'Open':
        return state.open ? [] : [{ type: 'CounterOpened', data: { counterId: command.counterId } }];
      case 'Raise':
        if (!state.open) throw new DomainError('NOT_FOUND', 'no such counter');
        if (command.by === 0) throw new DomainError('VALIDATION_FAILED', 'a raise of 0 changes nothing');
        return [{ type: 'CounterRaised', data: { by: command.by } }];
    }
  },
};

const spec = deciderSpec(counter, { occurredAt: '2026-11-28T10:00:00.000Z' });
const opened = { type: 'CounterOpened', data: { counterId: 'c1' } } as const;

describe('deciderSpec', () => {
  describe('when the decided events are the expected ones', () => {
    it('passes', () => {
      spec
        .given(opened)
        .when({ kind: 'Raise', by: 2 })
        .then([{ type: 'CounterRaised', data: { by: 2 } }]);
    });
    it('folds the given events into the state the command sees', () => {
      const given = spec.given(
        opened,
        { type: 'CounterRaised', data: { by: 3 } },
        { event: { type: 'CounterRaised', data: { by: 4 } }, occurredAt: '2026-11-28T11:00:00.000Z' },
      );
      expect(given.state).toEqual({ open: true, value: 7, openedAt: '2026-11-28T10:00:00.000Z' });
    });
  });

  describe('when the decided events differ', () => {
    it('fails with an assertion that shows both', () => {
      expect(() =>
        spec
          .given(opened)
          .when({ kind: 'Raise', by: 2 })
          .then([{ type: 'CounterRaised', data: { by: 5 } }]),
      ).toThrow(AssertionError);
    });
    it('fails when events were decided but nothing was expected', () => {
      expect(() => spec.given(opened).when({ kind: 'Raise', by: 1 }).thenNothing()).toThrow(AssertionError);
    });
  });

  describe('when the command decides nothing', () => {
    it('passes thenNothing', () => {
      spec.given(opened).when({ kind: 'Open', counterId: 'c1' }).thenNothing();
    });
  });

  describe('when the command is refused', () => {
    it('passes thenThrows with the DomainError’s code and a matching message', () => {
      spec
        .given()
        .when({ kind: 'Raise', by: 1 })
        .thenThrows('NOT_FOUND', /no such counter/);
      spec.given(opened).when({ kind: 'Raise', by: 0 }).thenThrows('VALIDATION_FAILED', 'changes nothing');
    });
    it('fails thenThrows on another code, another message, or no refusal at all', () => {
      expect(() => spec.given().when({ kind: 'Raise', by: 1 }).thenThrows('CONFLICT')).toThrow(/expected a CONFLICT refusal, got NOT_FOUND/);
      expect(() => spec.given().when({ kind: 'Raise', by: 1 }).thenThrows('NOT_FOUND', /gone/)).toThrow(/expected it to match/);
      expect(() => spec.given(opened).when({ kind: 'Raise', by: 1 }).thenThrows('NOT_FOUND')).toThrow(/but the command decided/);
    });
    it('fails then() saying the command was refused', () => {
      expect(() => spec.given().when({ kind: 'Raise', by: 1 }).then([])).toThrow(/refused: DomainError: no such counter/);
    });
  });

  describe('when a given event breaks its schema', () => {
    it('refuses it, as the service’s fold would', () => {
      expect(() => spec.given(opened, { type: 'CounterRaised', data: { by: -1 } })).toThrow();
    });
  });

  describe('when started from a hand-built state', () => {
    it('decides on that state', () => {
      spec
        .givenState({ open: true, value: 10, openedAt: null })
        .when({ kind: 'Raise', by: 1 })
        .then([{ type: 'CounterRaised', data: { by: 1 } }]);
    });
  });
});
