/*
 * Every durable consumer the services declare (consumer-declaration.ts in messaging), checked
 * against its stream and registry: the filter lies within the stream's subjects, the subjects
 * its producers publish on (built with the contracts' helpers, as the relays build them) are
 * captured by the stream and pass the filter, and every event type it acts on is in its
 * registry and parses with it. The names are pinned: a renamed durable would make every
 * deployment start its consumer over from the beginning of the stream.
 *
 *   npx jest infra/ops/consumers
 */
import { contexts, eventSubject, workReportSubject, workSubjects, type Context, type EventRegistry } from '@agentyard/contracts';
import { consumerDeclarationProblems, type ConsumerDeclaration } from '@agentyard/messaging';
import { allocationConsumers } from '@agentyard/allocation/src/interface/event-consumers';
import { taskEventConsumers } from '@agentyard/tasks/src/interface/event-consumers';
import { workflowEventConsumers } from '@agentyard/workflows/src/interface/event-consumers';
import { workerAssignmentsConsumer } from '@agentyard/workers/src/infrastructure/work-consumers';

const declared: { service: string; consumer: ConsumerDeclaration }[] = [
  ...taskEventConsumers({ assignWaitMaxMs: 60_000 }).map((consumer) => ({ service: 'tasks', consumer })),
  ...allocationConsumers.map((consumer) => ({ service: 'allocation', consumer })),
  ...workflowEventConsumers.map((consumer) => ({ service: 'workflows', consumer })),
  { service: 'workers', consumer: workerAssignmentsConsumer('w-1') },
];

const contextOf = (stream: string): Context | undefined => contexts.find((c) => c.toUpperCase() === stream);

/** Subjects the producers publish the consumer's messages on: each type's, with a task's run id too. */
function samplesOf(c: ConsumerDeclaration): string[] {
  const context = contextOf(c.stream);
  // WORK: the agents' reports (checked by a schema) and a worker's assignments.
  if (!context || !c.events) return c.stream === 'WORK' ? [c.schema ? workReportSubject('w-1') : workSubjects.assign('w-1')] : [];
  const types = c.actsOn ?? c.events.types();
  // The tasks relay appends a workflow task's run id (task-event-subject.ts); other relays one key.
  return types
    .flatMap((type) => [eventSubject(context, type, 'id-1'), ...(context === 'tasks' ? [eventSubject(context, type, 'id-1', 'run-1')] : [])])
    .filter((subject) => !(c.filterSubject.split('.').length === 5 && subject.split('.').length !== 5));
}

describe('the declared JetStream consumers', () => {
  it('keep their streams, durable names and filters (a renamed durable starts over from the stream’s beginning)', () => {
    expect(declared.map(({ service, consumer: c }) => `${service}: ${c.stream}/${c.durable} ${c.filterSubject}`)).toEqual([
      'tasks: ALLOCATION/tasks-allocation-decided allocation.events.allocation-decided.>',
      'tasks: WORK/tasks-work-reports work.report.>',
      'tasks: WORKERS/tasks-worker-offline workers.events.worker-went-offline.>',
      'tasks: TASKS/tasks-dispatcher tasks.events.>',
      'tasks: WORKFLOWS/tasks-workflow-nodes workflows.events.>',
      'allocation: TASKS/allocation-tasks tasks.events.>',
      'allocation: WORKERS/allocation-workers workers.events.>',
      'workflows: TASKS/workflows-task-events tasks.events.*.*.*',
      'workers: WORK/worker-w-1 work.assign.w-1',
    ]);
  });

  it.each(declared.map(({ service, consumer }) => [`${service} ${consumer.durable}`, consumer] as const))(
    '%s: its filter lies within its stream, which captures its producers’ subjects, and they pass the filter',
    (_name, consumer) => {
      const samples = samplesOf(consumer);
      expect(samples.length).toBeGreaterThan(0);
      expect(consumerDeclarationProblems(consumer, samples)).toEqual([]);
    },
  );

  it('every consumer of event envelopes acts only on types its registry holds, and drops an envelope that is not one', () => {
    for (const { consumer } of declared.filter(({ consumer }) => consumer.events)) {
      const registry = consumer.events as EventRegistry;
      for (const type of consumer.actsOn ?? [])
        expect({ durable: consumer.durable, type, known: registry.has(type) }).toEqual({ durable: consumer.durable, type, known: true });
      expect(consumer.inbound?.({ type: (consumer.actsOn ?? registry.types())[0], data: {} })).toMatchObject({ drop: expect.any(String) });
    }
  });
});
