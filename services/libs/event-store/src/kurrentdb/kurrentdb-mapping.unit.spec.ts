import type { RecordedEvent } from '@kurrent/kurrentdb-client';
import { testEvent } from '../testing/event-store.contract';
import { fromCurrentState, isSystemEvent, toEnvelope, toEventData, toStreamState, versionOfRevision } from './kurrentdb-mapping';

describe('KurrentDB mapping', () => {
  describe('when translating an expected version', () => {
    it('maps version N to revision N - 1 and version 0 to no_stream', () => {
      expect(toStreamState(1)).toBe(0n);
      expect(toStreamState(42)).toBe(41n);
      expect(toStreamState(0)).toBe('no_stream');
    });

    it('keeps the named expectations', () => {
      expect(toStreamState('any')).toBe('any');
      expect(toStreamState('no_stream')).toBe('no_stream');
      expect(toStreamState('stream_exists')).toBe('stream_exists');
    });

    it('refuses a negative or fractional version', () => {
      expect(() => toStreamState(-1)).toThrow(RangeError);
      expect(() => toStreamState(1.5)).toThrow(RangeError);
    });
  });

  describe('when translating the current stream state of a conflict', () => {
    it('reads no_stream as version 0 and revision R as version R + 1', () => {
      expect(fromCurrentState('no_stream')).toBe(0);
      expect(fromCurrentState(4n)).toBe(5);
      expect(versionOfRevision(0n)).toBe(1);
    });
  });

  describe('when an event goes to KurrentDB and comes back', () => {
    it('keeps every envelope field and takes the commit position as global position', () => {
      const event = testEvent('TaskQueued', { title: 'x' }, { userId: 'u-1' });
      const data = toEventData(event);
      expect(data).toMatchObject({ id: event.id, type: 'TaskQueued', contentType: 'application/json' });
      const recorded = {
        streamId: 'task-1',
        id: data.id,
        isJson: true,
        revision: 2n,
        type: data.type,
        created: new Date(),
        data: data.data,
        metadata: data.metadata,
      } as RecordedEvent;
      expect(toEnvelope(recorded, 1234n)).toEqual({ ...event, streamId: 'task-1', streamVersion: 3, globalPosition: '1234' });
    });

    it('gives an event written by another tool a usable envelope', () => {
      const created = new Date('2026-01-02T03:04:05.000Z');
      const recorded = {
        streamId: 'legacy',
        id: '0195f1d2-0000-7000-8000-000000000001',
        isJson: true,
        revision: 0n,
        type: 'LegacyThing',
        created,
        data: { a: 1 },
        metadata: undefined,
      } as RecordedEvent;
      expect(toEnvelope(recorded, undefined)).toEqual({
        id: recorded.id,
        type: 'LegacyThing',
        version: 1,
        streamId: 'legacy',
        streamVersion: 1,
        occurredAt: created.toISOString(),
        data: { a: 1 },
        metadata: { correlationId: recorded.id, causationId: recorded.id },
      });
    });
  });

  describe('when telling system events apart', () => {
    it('treats $-types and $-streams as system events', () => {
      expect(isSystemEvent({ type: '$metadata', streamId: 'task-1' })).toBe(true);
      expect(isSystemEvent({ type: 'TaskQueued', streamId: '$$task-1' })).toBe(true);
      expect(isSystemEvent({ type: 'TaskQueued', streamId: 'task-1' })).toBe(false);
    });
  });
});
