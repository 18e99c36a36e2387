import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineEvent, EventRegistry, workStream } from '@agentyard/contracts';
import { consumerDeclarationProblems, contextStream, defineConsumer, eventFilter, patternCovers } from './consumer-declaration';

const registry = new EventRegistry().register(
  defineEvent('ThingMade', 1, z.object({ thingId: z.string() })),
  defineEvent('ThingBroken', 1, z.object({ thingId: z.string(), reason: z.string() })),
);
const envelope = (type: string, data: Record<string, unknown>) => ({
  id: randomUUID(),
  type,
  version: 1,
  streamId: 'thing-1',
  streamVersion: 1,
  occurredAt: new Date().toISOString(),
  data,
  metadata: { correlationId: 'c', extra: 'kept loose' },
});

describe('defineConsumer', () => {
  const made = defineConsumer({
    stream: contextStream('tasks'),
    durable: 'x-made',
    filterSubject: eventFilter('tasks'),
    events: registry,
    actsOn: ['ThingMade'],
  });

  it('turns a declaration into the consumer options the transporter provisions', () => {
    expect(made).toMatchObject({ stream: 'TASKS', durable: 'x-made', filterSubject: 'tasks.events.>', streamSubjects: ['tasks.events.>'] });
    expect(made.streamConfig).toMatchObject({ name: 'TASKS', subjects: ['tasks.events.>'] });
  });

  describe('when a message arrives', () => {
    it('hands over an event it acts on, parsed by its registry', () => {
      expect(made.inbound!(envelope('ThingMade', { thingId: 't' }))).toMatchObject({ handle: { type: 'ThingMade', data: { thingId: 't' } } });
    });

    it('acks an event of a type it does not act on unread', () => {
      expect(made.inbound!(envelope('ThingBroken', { thingId: 't', reason: 'r' }))).toEqual({ skip: true });
    });

    it('drops a malformed envelope and a payload that breaks its schema, saying why', () => {
      expect(made.inbound!({ type: 'ThingMade' })).toMatchObject({ drop: 'malformed event envelope dropped' });
      expect(made.inbound!(envelope('ThingMade', { thingId: 42 }))).toMatchObject({ drop: expect.stringContaining('does not match its schema') });
    });

    it('drops an unknown event type, unless told to pass it on unparsed', () => {
      const every = defineConsumer({ stream: contextStream('tasks'), durable: 'x-all', filterSubject: eventFilter('tasks'), events: registry });
      const passing = defineConsumer({
        stream: contextStream('tasks'),
        durable: 'x-pass',
        filterSubject: eventFilter('tasks'),
        events: registry,
        unknownTypes: 'pass',
      });
      const unknown = envelope('ThingVanished', { thingId: 't' });
      expect(every.inbound!(unknown)).toMatchObject({ drop: 'unknown event type dropped' });
      expect(passing.inbound!(unknown)).toEqual({ handle: unknown });
    });

    it('checks a non-envelope message by its schema', () => {
      const reports = defineConsumer({
        stream: { name: workStream.name, subjects: [...workStream.subjects] },
        durable: 'x-reports',
        filterSubject: 'work.report.>',
        schema: z.object({ n: z.number() }),
      });
      expect(reports.inbound!({ n: 1 })).toEqual({ handle: { n: 1 } });
      expect(reports.inbound!({ n: 'one' })).toMatchObject({ drop: 'malformed message dropped' });
    });
  });
});

describe('eventFilter', () => {
  it('builds a context’s filters from the contracts’ subject helpers', () => {
    expect(eventFilter('tasks')).toBe('tasks.events.>');
    expect(eventFilter('allocation', { type: 'AllocationDecided' })).toBe('allocation.events.allocation-decided.>');
    expect(eventFilter('tasks', { keys: 2 })).toBe('tasks.events.*.*.*');
  });
});

describe('consumerDeclarationProblems', () => {
  it('finds a filter outside the stream, a subject the filter or stream misses, and a type the registry lacks', () => {
    const wrong = defineConsumer({
      stream: contextStream('tasks'),
      durable: 'x-wrong',
      filterSubject: 'workers.events.>',
      events: registry,
      actsOn: ['ThingMade'],
    });
    expect(consumerDeclarationProblems(wrong, ['tasks.events.thing-made.1'])).toEqual([
      "TASKS/x-wrong: filter workers.events.> is not within the stream's subjects tasks.events.>",
      'TASKS/x-wrong: filter workers.events.> does not pass tasks.events.thing-made.1',
    ]);
    const typo = defineConsumer({
      stream: contextStream('tasks'),
      durable: 'x-typo',
      filterSubject: 'tasks.events.>',
      events: registry,
      actsOn: ['ThingMade'],
    });
    expect(consumerDeclarationProblems({ ...typo, actsOn: ['ThingMdae'] }, ['tasks.events.thing-made.1'])).toEqual([
      'TASKS/x-typo: acts on ThingMdae, which its registry does not hold',
    ]);
    expect(consumerDeclarationProblems(typo, [])).toEqual(['TASKS/x-typo: no sample subject given']);
    expect(consumerDeclarationProblems(typo, ['workers.events.thing-made.1'])).toEqual([
      'TASKS/x-typo: the stream does not capture workers.events.thing-made.1',
      'TASKS/x-typo: filter tasks.events.> does not pass workers.events.thing-made.1',
    ]);
  });
});

describe('patternCovers', () => {
  it('is true only when every subject of the inner pattern matches the outer one', () => {
    expect(patternCovers('tasks.events.>', 'tasks.events.*.*.*')).toBe(true);
    expect(patternCovers('tasks.events.>', 'tasks.events.>')).toBe(true);
    expect(patternCovers('tasks.events.*', 'tasks.events.>')).toBe(false);
    expect(patternCovers('tasks.events.>', 'tasks.>')).toBe(false);
    expect(patternCovers('work.report.>', 'work.assign.w-1')).toBe(false);
    expect(patternCovers('work.*.w-1', 'work.assign.w-1')).toBe(true);
  });
});
