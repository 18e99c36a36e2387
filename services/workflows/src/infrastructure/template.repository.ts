/*
 * Saved templates (rows in `workflow_template`), always filtered by owner.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { TemplateView } from '@agentyard/contracts';
import type { WorkflowsDatabase, WorkflowTemplateTable } from './workflows.database';

export class TemplateRepository {
  constructor(private readonly db: Kysely<WorkflowsDatabase>) {}

  async listOf(ownerId: string): Promise<TemplateView[]> {
    const rows = await this.db.selectFrom('workflow_template').selectAll().where('owner_id', '=', ownerId).orderBy('created_at', 'desc').execute();
    return rows.map(viewOf);
  }

  async findOf(ownerId: string, id: string): Promise<TemplateView | undefined> {
    const r = await this.db.selectFrom('workflow_template').selectAll().where('id', '=', id).where('owner_id', '=', ownerId).executeTakeFirst();
    return r ? viewOf(r) : undefined;
  }

  async countOf(ownerId: string): Promise<number> {
    const r = await this.db
      .selectFrom('workflow_template')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    return r?.n ?? 0;
  }

  async insert(t: TemplateView): Promise<void> {
    await this.db
      .insertInto('workflow_template')
      .values({
        id: t.id,
        owner_id: t.ownerId!,
        name: t.name,
        description: t.description,
        kind: t.kind,
        parameters: JSON.stringify(t.parameters),
        definition: JSON.stringify(t.definition),
        created_at: t.createdAt,
      })
      .execute();
  }

  /** True when the owner had that template. */
  async delete(ownerId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('workflow_template').where('id', '=', id).where('owner_id', '=', ownerId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

function viewOf(r: Selectable<WorkflowTemplateTable>): TemplateView {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    kind: r.kind as TemplateView['kind'],
    builtIn: false,
    ownerId: r.owner_id,
    parameters: r.parameters as TemplateView['parameters'],
    definition: r.definition as TemplateView['definition'],
    createdAt: r.created_at.toISOString(),
  };
}
