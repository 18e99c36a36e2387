import { z } from 'zod';
import { defineEvent, EventRegistry, UnknownEventError, type EventOf, type EventTypeOf } from './versioning';
import type { Envelope } from './envelope';

const taskQueuedV1 = defineEvent('TaskQueued', 1, z.object({ taskId: z.string(), priority: z.number() }));
const taskQueuedV2 = defineEvent('TaskQueued', 2, z.object({ taskId: z.string(), priority: z.enum(['low', 'normal', 'high']), queue: z.string() }));

const stored = (version: number, data: Record<string, unknown>): Envelope => ({
  id: '0190a6e0-0000-7000-8000-000000000001',
  type: 'TaskQueued',
  version,
  streamId: 'task-1',
  streamVersion: 2,
  occurredAt: '2026-11-28T10:00:00.000Z',
  data,
  metadata: { correlationId: 'c', causationId: 'c' },
});

describe('EventRegistry', () => {
  const registry = new EventRegistry().register(taskQueuedV1, taskQueuedV2).upcast('TaskQueued', 1, (d) => ({
    taskId: d.taskId,
    priority: Number(d.priority) >= 70 ? 'high' : Number(d.priority) <= 30 ? 'low' : 'normal',
    queue: 'default',
  }));

  describe('when it reads a v1 event while v2 is current', () => {
    it('upcasts the payload to v2 and reports version 2', () => {
      const event = registry.upcastEnvelope(stored(1, { taskId: 't1', priority: 90 }));
      expect(event.version).toBe(2);
      expect(event.data).toEqual({ taskId: 't1', priority: 'high', queue: 'default' });
    });
  });

  describe('when asked for its event types', () => {
    it('lists each type once, however many versions it has', () => {
      const more = new EventRegistry().register(taskQueuedV1, taskQueuedV2, defineEvent('TaskStarted', 1, z.object({})));
      expect(more.types()).toEqual(['TaskQueued', 'TaskStarted']);
    });
  });

  describe('when it reads a v2 event', () => {
    it('leaves it as written', () => {
      const data = { taskId: 't1', priority: 'low', queue: 'gpu' };
      expect(registry.upcastEnvelope(stored(2, data)).data).toEqual(data);
    });
  });

  describe('when a payload breaks its schema', () => {
    it('throws instead of handing a handler a malformed event', () => {
      expect(() => registry.upcastEnvelope(stored(2, { taskId: 't1', priority: 'urgent', queue: 'q' }))).toThrow();
    });
  });

  describe('when the type is unknown', () => {
    it('throws UnknownEventError', () => {
      expect(() => registry.validate('Nope', 1, {})).toThrow(UnknownEventError);
    });
  });

  describe('when an upcaster is missing', () => {
    it('says which step is missing', () => {
      const partial = new EventRegistry().register(taskQueuedV1, taskQueuedV2);
      expect(() => partial.upcastEnvelope(stored(1, { taskId: 't', priority: 1 }))).toThrow('TaskQueued v1 → v2');
    });
  });

  describe('when a stored envelope is parsed into the typed union', () => {
    const typed = new EventRegistry().register(taskQueuedV1, taskQueuedV2, defineEvent('TaskStarted', 1, z.object({ startedAt: z.string() })));
    it('narrows the payload on the type, at the newest version’s shape', () => {
      const event: EventOf<typeof typed> = typed.parse(stored(2, { taskId: 't1', priority: 'low', queue: 'gpu' }));
      // Type-level: `queue` exists only on v2, `startedAt` only on TaskStarted (npm run typecheck fails otherwise).
      const described = event.type === 'TaskQueued' ? event.data.queue : event.data.startedAt;
      expect(described).toBe('gpu');
      const types: Array<EventTypeOf<typeof typed>> = ['TaskQueued', 'TaskStarted'];
      // @ts-expect-error not a type of this registry
      types.push('TaskFinished');
      expect(types).toHaveLength(3);
    });
    it('refuses a type it does not hold instead of passing it through', () => {
      expect(() => typed.parse({ ...stored(1, {}), type: 'TaskFinished' })).toThrow(UnknownEventError);
    });
    it('refuses a payload that breaks the schema', () => {
      expect(() => typed.parse({ ...stored(1, {}), type: 'TaskStarted', data: { startedAt: 5 } })).toThrow();
    });
  });

  describe('when a type’s versions are registered newest first', () => {
    it('throws, since the newest registered version is the payload type', () => {
      expect(() => new EventRegistry().register(taskQueuedV2, taskQueuedV1)).toThrow('TaskQueued v1 registered after');
    });
  });

  describe('when a decider’s payload is checked', () => {
    it('validates it against the newest version', () => {
      const typed = new EventRegistry().register(taskQueuedV1, taskQueuedV2);
      expect(typed.check('TaskQueued', { taskId: 't', priority: 'high', queue: 'q' })).toEqual({ taskId: 't', priority: 'high', queue: 'q' });
      // @ts-expect-error v1's numeric priority is not the newest shape
      expect(() => typed.check('TaskQueued', { taskId: 't', priority: 3, queue: 'q' })).toThrow();
    });
  });
});
