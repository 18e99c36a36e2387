import { Inject, Injectable } from '@nestjs/common';
import type { Kysely, Selectable } from 'kysely';
import type { Envelope, WorkerResources, WorkerTool } from '@agentyard/contracts';
import { applyInStreamOrder, type ApplyResult } from '../application/stream-order';
import type { WorkerState } from '../application/worker-state.projection';
import type { AllocationDatabase, WorkersTable } from './allocation.database';
import { ALLOCATION_DB } from './task.repository';

function toState(row: Selectable<WorkersTable>): WorkerState {
  return {
    workerId: row.worker_id,
    version: row.version,
    registered: row.registered,
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
  constructor(@Inject(ALLOCATION_DB) private readonly db: Kysely<AllocationDatabase>) {}

  /** Applies `event` to worker `workerId` if it is the next of its stream (see stream-order.ts). */
  async applyInOrder(workerId: string, event: Envelope, evolve: (row: WorkerState | null, event: Envelope) => WorkerState): Promise<ApplyResult> {
    return this.db.transaction().execute((trx) =>
      applyInStreamOrder(
        event,
        {
          load: async () => {
            const row = await trx.selectFrom('workers').selectAll().where('worker_id', '=', workerId).forUpdate().executeTakeFirst();
            return row ? toState(row) : null;
          },
          update: async (next) => {
            await trx.updateTable('workers').set({ ...toRow(next), updated_at: new Date() }).where('worker_id', '=', workerId).execute();
          },
          insert: async (next) => {
            const r = await trx.insertInto('workers').values(toRow(next)).onConflict((oc) => oc.column('worker_id').doNothing()).executeTakeFirst();
            return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
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
}
