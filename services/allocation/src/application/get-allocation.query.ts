import { Inject, Injectable } from '@nestjs/common';
import { allocationEvents, allocationVisibleToOwner, DomainError, type AllocationView, type Candidate, type CountedCandidates } from '@agentyard/contracts';
import type { EventStore } from '@agentyard/event-store';
import { allocationStreamId } from '../domain/allocation-record.decider';
import { TaskRepository } from '../infrastructure/task.repository';
import { EVENT_STORE } from './tokens';

/**
 * The latest decision (or deferral) for a task, read from its allocation stream — only for the
 * task's owner; anyone else, an unknown task and a task without a decision get the same 404
 * (brief §10: existence does not leak). Candidates the owner has no role on are left out of the
 * owner's view for the same reason (only their number is shown); the stored event keeps them for
 * auditors. A decision recorded at v1 (every worker a candidate) reads upcast, nothing counted.
 */
@Injectable()
export class GetAllocationQuery {
  constructor(
    private readonly tasks: TaskRepository,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute(actorId: string, taskId: string): Promise<AllocationView> {
    const notFound = new DomainError('NOT_FOUND', `no allocation for task ${taskId}`);
    if ((await this.tasks.ownerOf(taskId)) !== actorId) throw notFound;
    const events = await this.store.readStream(allocationStreamId(taskId));
    const latest = [...events].reverse().find((e) => e.type === 'AllocationDecided' || e.type === 'AllocationDeferred');
    if (!latest) throw notFound;
    const event = allocationEvents.upcastEnvelope(latest);
    const data = event.data as { attempt: number; workerId?: string; candidates: Candidate[]; others: CountedCandidates[] };
    return {
      taskId,
      attempt: data.attempt,
      workerId: event.type === 'AllocationDecided' ? (data.workerId ?? null) : null,
      decidedAt: event.occurredAt,
      ...allocationVisibleToOwner(data),
    };
  }
}
