import { z } from 'zod';
import { defineEvent, EventRegistry, UnknownEventError } from './versioning';
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
});
