import { Inject, Injectable } from '@nestjs/common';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { CountedCandidates, Envelope, WorkerResources, WorkerTool } from '@agentyard/contracts';
import { unavailableReasons } from '../domain/allocation.decide';
import { applyInStreamOrder, type ApplyResult, type EntityEvent, type OutOfOrderEvent } from '../application/stream-order';
import { excludedColumns } from '@agentyard/event-sourcing';
import type { WorkerState } from '../application/worker-state.projection';
import type { AllocationDatabase, WorkersTable } from './allocation.database';
import { ALLOCATION_DB } from './task.repository';

function toState(row: Selectable<WorkersTable>): WorkerState {
  return {
    workerId: row.worker_id,
    version: row.version,
    registered: row.registered,
    name: row.name,
    ownerId: row.owner_id,
    roles: row.roles,
    tools: row.tools as WorkerTool[],
    labels: row.labels,
    slots: row.slots,
    resources: row.resources as WorkerResources | null,
    online: row.online,
    drained: row.drained,
    revoked: row.revoked,
  };
}

function toRow(s: WorkerState) {
  return {
    worker_id: s.workerId,
    version: s.version,
    registered: s.registered,
    name: s.name,
    owner_id: s.ownerId,
    roles: JSON.stringify(s.roles),
    tools: JSON.stringify(s.tools),
    labels: JSON.stringify(s.labels),
    slots: s.slots,
    resources: JSON.stringify(s.resources),
    online: s.online,
    drained: s.drained,
    revoked: s.revoked,
  };
}

/** The `workers` read model. */
@Injectable()
export class WorkerRepository {
  private applied = 0;

  constructor(@Inject(ALLOCATION_DB) private readonly db: Kysely<AllocationDatabase>) {}

  /**
   * Grows with every batch of worker events this process applied: what was read from the table
   * before may be out of date once it moved (the allocation loop keeps its worker counts until then).
   */
  get generation(): number {
    return this.applied;
  }

  /** Applies a batch of worker events in one transaction (see stream-order.ts), per event. */
  async applyInOrder(batch: EntityEvent[], evolve: (row: WorkerState | null, event: Envelope) => WorkerState): Promise<Array<ApplyResult | OutOfOrderEvent>> {
    // Moved before and after: a read that overlaps the transaction is not kept either way.
    this.applied++;
    try {
      return await this.apply(batch, evolve);
    } finally {
      this.applied++;
    }
  }

  private apply(batch: EntityEvent[], evolve: (row: WorkerState | null, event: Envelope) => WorkerState): Promise<Array<ApplyResult | OutOfOrderEvent>> {
    return this.db.transaction().execute((trx) =>
      applyInStreamOrder(
        batch,
        {
          loadMany: async (ids) => {
            const rows = await trx.selectFrom('workers').selectAll().where('worker_id', 'in', ids).orderBy('worker_id').forUpdate().execute();
            return new Map(rows.map((r) => [r.worker_id, toState(r)]));
          },
          updateMany: async (states) => {
            // Every row exists and is locked by us, so this upsert only ever updates.
            const rows = states.map(toRow);
            await trx
              .insertInto('workers')
              .values(rows)
              .onConflict((oc) => oc.column('worker_id').doUpdateSet(excludedColumns(rows[0]!, 'worker_id', { updated_at: sql`now()` })))
              .execute();
          },
          insertMany: async (states) => {
            const inserted = await trx
              .insertInto('workers')
              .values(states.map(toRow))
              .onConflict((oc) => oc.column('worker_id').doNothing())
              .returning('worker_id')
              .execute();
            const written = new Set(inserted.map((r) => r.worker_id));
            return new Set(states.map((s) => s.workerId).filter((id) => !written.has(id)));
          },
        },
        evolve,
      ),
    );
  }

  /** Every known worker, by id. */
  async listAll(): Promise<WorkerState[]> {
    const rows = await this.db.selectFrom('workers').selectAll().orderBy('worker_id').execute();
    return rows.map(toState);
  }

  /**
   * The workers that could take work (the decider's `isAvailable`: registered, online, not
   * revoked, not drained), by id — read through the partial index `workers_available`, so
   * registered workers that are offline cost this read nothing.
   */
  async listAvailable(): Promise<WorkerState[]> {
    const rows = await this.db
      .selectFrom('workers')
      .selectAll()
      .where(sql<boolean>`registered and online and not revoked and not drained`)
      .orderBy('worker_id')
      .execute();
    return rows.map(toState);
  }

  /** These workers (a task is pinned to them), whatever their state; unknown ids are absent. */
  async findMany(workerIds: string[]): Promise<WorkerState[]> {
    if (workerIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('workers')
      .selectAll()
      .where('worker_id', 'in', [...new Set(workerIds)])
      .orderBy('worker_id')
      .execute();
    return rows.map(toState);
  }

  /**
   * ownerId → the workers that are not available, counted by the reasons a task of that owner
   * would list for them (`unavailableReasons`: offline, revoked, drained, and whether the owner
   * may use them). One aggregate query for all the owners named: a decision records these counts
   * without loading the workers one by one.
   */
  async countUnavailable(ownerIds: string[]): Promise<Map<string, CountedCandidates[]>> {
    const owners = [...new Set(ownerIds)];
    const result = new Map<string, CountedCandidates[]>(owners.map((o) => [o, []]));
    if (owners.length === 0) return result;
    const { rows } = await sql<{ for_owner: string; registered: boolean; online: boolean; revoked: boolean; drained: boolean; usable: boolean; n: number }>`
      select o.id as for_owner, w.registered, w.online, w.revoked, w.drained,
             coalesce(w.owner_id = o.id or w.roles ? o.id, false) as usable, count(*)::int as n
        from workers w cross join unnest(${owners}::text[]) as o(id)
       where not (w.registered and w.online and not w.revoked and not w.drained)
       group by 1, 2, 3, 4, 5, 6`.execute(this.db);
    for (const r of rows) result.get(r.for_owner)!.push({ reasons: unavailableReasons(r, r.usable), count: r.n });
    return result;
  }
}
