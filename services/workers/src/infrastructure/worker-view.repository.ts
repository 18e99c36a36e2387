/*
 * worker_view, worker_roles (the projection's rows) and worker_liveness (the heartbeat path's
 * row). The heartbeat path does one statement per heartbeat: it upserts the liveness row of a
 * known worker and returns the projected state the handler decides from.
 */
import { Inject, Injectable } from '@nestjs/common';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Heartbeat, WorkerTool } from '@agentyard/contracts';
import type { RoleGrant, WorkerViewDoc } from '../application/worker-view.projection';
import type { WorkerRole } from '../domain/worker';
import type { WorkersDatabase, WorkerViewTable } from './workers.database';

export const WORKERS_DB = Symbol('WORKERS_DB');

/** A worker as the actor may see it: the row, the actor's role, and the latest heartbeat. */
export interface WorkerViewRecord {
  doc: WorkerViewDoc;
  role: WorkerRole;
  heartbeat: Heartbeat | null;
  lastSeenAt: Date | null;
}

/** What a heartbeat needs to decide: the projected state of a known worker. */
export interface ProjectedLiveness {
  online: boolean;
  credentialRevoked: boolean;
  tools: WorkerTool[];
}

@Injectable()
export class WorkerViewRepository {
  constructor(@Inject(WORKERS_DB) private readonly db: Kysely<WorkersDatabase>) {}

  // Projection side ---------------------------------------------------------------------------

  async load(trx: Transaction<WorkersDatabase>, workerId: string): Promise<WorkerViewDoc | null> {
    const row = await trx.selectFrom('worker_view').selectAll().where('id', '=', workerId).executeTakeFirst();
    return row ? toDoc(row) : null;
  }

  async save(trx: Transaction<WorkersDatabase>, doc: WorkerViewDoc): Promise<void> {
    const row = {
      id: doc.id,
      owner_id: doc.ownerId,
      name: doc.name,
      hostname: doc.hostname,
      platform: doc.platform,
      arch: doc.arch,
      agent_version: doc.agentVersion,
      tools: JSON.stringify(doc.tools),
      labels: JSON.stringify(doc.labels),
      slots: doc.slots,
      resources: JSON.stringify(doc.resources),
      online: doc.online,
      drained: doc.drained,
      credential_revoked: doc.credentialRevoked,
      registered_at: doc.registeredAt,
    };
    const { id: _id, ...changes } = row;
    await trx
      .insertInto('worker_view')
      .values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet(changes))
      .execute();
  }

  async saveRole(trx: Transaction<WorkersDatabase>, grant: RoleGrant): Promise<void> {
    await trx
      .insertInto('worker_roles')
      .values({ worker_id: grant.workerId, user_id: grant.userId, role: grant.role })
      .onConflict((oc) => oc.columns(['worker_id', 'user_id']).doUpdateSet({ role: grant.role }))
      .execute();
  }

  /** Empties the projected tables (rebuild); liveness rows stay. */
  async truncate(trx: Transaction<WorkersDatabase>): Promise<void> {
    await sql`truncate worker_view, worker_roles`.execute(trx);
  }

  // Heartbeat side ----------------------------------------------------------------------------

  /**
   * Records a heartbeat of a worker the read model knows, in one statement, and returns its
   * projected state; undefined when the read model does not know the worker (yet).
   */
  async recordHeartbeat(workerId: string, heartbeat: Heartbeat): Promise<ProjectedLiveness | undefined> {
    const { rows } = await sql<{ online: boolean; credential_revoked: boolean; tools: WorkerTool[] }>`
      with touched as (
        insert into worker_liveness (worker_id, heartbeat, last_seen_at)
        select v.id, ${JSON.stringify(heartbeat)}::jsonb, now() from worker_view v
        where v.id = ${workerId} and not v.credential_revoked
        on conflict (worker_id) do update set heartbeat = excluded.heartbeat, last_seen_at = excluded.last_seen_at
        returning worker_id
      )
      select v.online, v.credential_revoked, v.tools from worker_view v where v.id = ${workerId}`.execute(this.db);
    const row = rows[0];
    return row ? { online: row.online, credentialRevoked: row.credential_revoked, tools: row.tools } : undefined;
  }

  /** Records a heartbeat without consulting the read model (the caller checked the event store). */
  async recordHeartbeatUnchecked(workerId: string, heartbeat: Heartbeat): Promise<void> {
    await this.db
      .insertInto('worker_liveness')
      .values({ worker_id: workerId, heartbeat: JSON.stringify(heartbeat), last_seen_at: sql<Date>`now()` })
      .onConflict((oc) => oc.column('worker_id').doUpdateSet({ heartbeat: JSON.stringify(heartbeat), last_seen_at: sql<Date>`now()` }))
      .execute();
  }

  /** Workers the read model holds online whose last heartbeat is older than `silentForMs` (or absent). */
  async silentWorkers(silentForMs: number, limit = 500): Promise<string[]> {
    const { rows } = await sql<{ id: string }>`
      select v.id from worker_view v left join worker_liveness l on l.worker_id = v.id
      where v.online and (l.last_seen_at is null or l.last_seen_at < now() - make_interval(secs => ${silentForMs / 1000}))
      order by v.id
      limit ${limit}`.execute(this.db);
    return rows.map((r) => r.id);
  }

  // Query side --------------------------------------------------------------------------------

  /** The worker if `userId` holds a role on it. */
  async findForUser(workerId: string, userId: string): Promise<WorkerViewRecord | undefined> {
    const rows = await this.visibleTo(userId).where('v.id', '=', workerId).execute();
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** Every worker `userId` holds a role on, newest registration first. */
  async listForUser(userId: string, limit = 500): Promise<WorkerViewRecord[]> {
    const rows = await this.visibleTo(userId).orderBy('v.registered_at', 'desc').orderBy('v.id').limit(limit).execute();
    return rows.map(toRecord);
  }

  private visibleTo(userId: string) {
    return this.db
      .selectFrom('worker_view as v')
      .innerJoin('worker_roles as r', (j) => j.onRef('r.worker_id', '=', 'v.id').on('r.user_id', '=', userId))
      .leftJoin('worker_liveness as l', 'l.worker_id', 'v.id')
      .selectAll('v')
      .select(['r.role as role', 'l.heartbeat as heartbeat', 'l.last_seen_at as last_seen_at']);
  }
}

type ViewRow = Selectable<WorkerViewTable>;

function toDoc(row: ViewRow): WorkerViewDoc {
  return {
    id: row.id,
    ownerId: row.owner_id,
    name: row.name,
    hostname: row.hostname,
    platform: row.platform,
    arch: row.arch,
    agentVersion: row.agent_version,
    tools: row.tools,
    labels: row.labels,
    slots: row.slots,
    resources: row.resources,
    online: row.online,
    drained: row.drained,
    credentialRevoked: row.credential_revoked,
    registeredAt: row.registered_at.toISOString(),
  };
}

function toRecord(row: ViewRow & { role: WorkerRole; heartbeat: Heartbeat | null; last_seen_at: Date | null }): WorkerViewRecord {
  return { doc: toDoc(row), role: row.role, heartbeat: row.heartbeat, lastSeenAt: row.last_seen_at };
}
