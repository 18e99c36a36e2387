/*
 * The artifact store on the tasks database (the default). An upload is a row of `artifacts`
 * with complete = false and its chunks in `artifact_chunks`; commit checks the chunks, then in
 * one transaction deletes the (task, attempt, name)'s current row (its chunks cascade) and marks
 * the upload complete — the partial unique index `artifacts_current` keeps one visible row per
 * key, and an advisory lock on the key orders two commits of the same name. Invariants: see
 * artifact-store.port.ts; proven by test/artifact-store.int.spec.ts.
 */
import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import { checkChunks, checkWhole, type ArtifactStore, type CommitOutcome, type PendingUpload, type StoredArtifact } from '../application/artifact-store.port';
import type { ArtifactsTable, TasksDatabase } from './tasks.database';

/** Chunks read per query while hashing at commit (8 × 512 KiB). */
const HASH_BATCH = 8;

export class PostgresArtifactStore implements ArtifactStore {
  constructor(private readonly db: Kysely<TasksDatabase>) {}

  async beginUpload(u: PendingUpload): Promise<void> {
    await this.db.insertInto('artifacts').values(rowOf(u)).execute();
  }

  async pendingUpload(uploadId: string): Promise<PendingUpload | undefined> {
    const row = await this.db.selectFrom('artifacts').selectAll().where('id', '=', uploadId).where('complete', '=', false).executeTakeFirst();
    return row && toPending(row);
  }

  async putChunk({ taskId, uploadId }: Pick<PendingUpload, 'taskId' | 'uploadId'>, seq: number, data: Buffer): Promise<void> {
    // Only into an unfinished upload: a late chunk must never change a committed artifact.
    await sql`insert into artifact_chunks (artifact_id, seq, data)
      select id, ${seq}, ${data} from artifacts where id = ${uploadId} and task_id = ${taskId} and not complete
      on conflict (artifact_id, seq) do update set data = excluded.data`.execute(this.db);
  }

  async commitUpload(uploadId: string, now: Date, maxBytes = Number.MAX_SAFE_INTEGER): Promise<CommitOutcome> {
    const upload = await this.pendingUpload(uploadId);
    if (!upload) return { committed: false, reason: 'no-such-upload' };
    const sizes = new Map(
      (
        await this.db
          .selectFrom('artifact_chunks')
          .select(['seq', sql<number>`length(data)`.as('size')])
          .where('artifact_id', '=', uploadId)
          .execute()
      ).map((r) => [r.seq, Number(r.size)]),
    );
    const batch = new Map<number, Buffer>();
    const checked = await checkChunks(upload, maxBytes, sizes, async (seq) => {
      if (!batch.has(seq)) {
        batch.clear();
        const rows = await this.db
          .selectFrom('artifact_chunks')
          .select(['seq', 'data'])
          .where('artifact_id', '=', uploadId)
          .where('seq', '>=', seq)
          .where('seq', '<', seq + HASH_BATCH)
          .execute();
        for (const r of rows) batch.set(r.seq, r.data);
      }
      return batch.get(seq);
    });
    if (!('ok' in checked)) return checked;
    return this.db.transaction().execute(async (trx) => {
      await lockKey(trx, upload);
      const still = await trx.selectFrom('artifacts').select('id').where('id', '=', uploadId).where('complete', '=', false).forUpdate().executeTakeFirst();
      if (!still) return { committed: false, reason: 'no-such-upload' } as const;
      await deleteCurrent(trx, upload);
      const row = await trx
        .updateTable('artifacts')
        .set({ complete: true, bytes: checked.bytes, chunks: checked.chunks, created_at: now })
        .where('id', '=', uploadId)
        .returningAll()
        .executeTakeFirstOrThrow();
      return { committed: true, artifact: toStored(row) } as const;
    });
  }

  async storeWhole(u: PendingUpload, data: Buffer, chunkBytes: number, now: Date): Promise<CommitOutcome> {
    const { pieces, checked } = await checkWhole(u, data, chunkBytes);
    if (!('ok' in checked)) return checked;
    // One transaction, under the key's lock like a commit: the current row goes, the new one is complete from its insert.
    return this.db.transaction().execute(async (trx) => {
      await lockKey(trx, u);
      await deleteCurrent(trx, u);
      const row = await trx
        .insertInto('artifacts')
        .values({ ...rowOf(u), created_at: now, complete: true, bytes: checked.bytes, chunks: checked.chunks })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (pieces.length > 0)
        await trx
          .insertInto('artifact_chunks')
          .values(pieces.map((piece, seq) => ({ artifact_id: u.uploadId, seq, data: piece })))
          .execute();
      return { committed: true, artifact: toStored(row) } as const;
    });
  }

  async abortUpload(uploadId: string): Promise<void> {
    await this.db.deleteFrom('artifacts').where('id', '=', uploadId).where('complete', '=', false).execute();
  }

  async list(taskId: string): Promise<StoredArtifact[]> {
    const rows = await this.db
      .selectFrom('artifacts')
      .selectAll()
      .where('task_id', '=', taskId)
      .where('complete', '=', true)
      .orderBy('attempt', 'desc')
      .orderBy('name')
      .execute();
    return rows.map(toStored);
  }

  async find(taskId: string, name: string, attempt?: number): Promise<StoredArtifact | undefined> {
    let query = this.db.selectFrom('artifacts').selectAll().where('task_id', '=', taskId).where('name', '=', name).where('complete', '=', true);
    if (attempt !== undefined) query = query.where('attempt', '=', attempt);
    const row = await query.orderBy('attempt', 'desc').limit(1).executeTakeFirst();
    return row && toStored(row);
  }

  async readChunk({ taskId, artifactId }: Pick<StoredArtifact, 'taskId' | 'artifactId'>, seq: number): Promise<Buffer | undefined> {
    const row = await this.db
      .selectFrom('artifact_chunks')
      .innerJoin('artifacts', 'artifacts.id', 'artifact_chunks.artifact_id')
      .select('artifact_chunks.data')
      .where('artifact_chunks.artifact_id', '=', artifactId)
      .where('artifact_chunks.seq', '=', seq)
      .where('artifacts.task_id', '=', taskId)
      .where('artifacts.complete', '=', true)
      .executeTakeFirst();
    return row?.data;
  }

  async deleteTask(taskId: string): Promise<void> {
    await this.db.deleteFrom('artifacts').where('task_id', '=', taskId).where('complete', '=', true).execute();
  }

  async removeAbandoned(startedBefore: Date): Promise<number> {
    const result = await this.db.deleteFrom('artifacts').where('complete', '=', false).where('created_at', '<', startedBefore).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

type ArtifactKey = Pick<PendingUpload, 'taskId' | 'attempt' | 'name'>;

/** Orders two commits of one (task, attempt, name) until the transaction ends. */
async function lockKey(trx: Transaction<TasksDatabase>, key: ArtifactKey): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`${key.taskId}/${key.attempt}/${key.name}`}, 0))`.execute(trx);
}

/** Deletes the (task, attempt, name)'s visible artifact; its chunks cascade. */
async function deleteCurrent(trx: Transaction<TasksDatabase>, key: ArtifactKey): Promise<void> {
  await trx
    .deleteFrom('artifacts')
    .where('task_id', '=', key.taskId)
    .where('attempt', '=', key.attempt)
    .where('name', '=', key.name)
    .where('complete', '=', true)
    .execute();
}

/** The `artifacts` row of an upload as begun. */
function rowOf(u: PendingUpload): Insertable<ArtifactsTable> {
  return {
    id: u.uploadId,
    task_id: u.taskId,
    attempt: u.attempt,
    name: u.name,
    worker_id: u.workerId,
    sha256: u.sha256,
    declared_bytes: u.declaredBytes,
    max_bytes: u.maxBytes,
    content_type: u.contentType,
    created_at: u.startedAt,
  };
}

function toPending(row: Selectable<ArtifactsTable>): PendingUpload {
  return {
    uploadId: row.id,
    taskId: row.task_id,
    attempt: row.attempt,
    name: row.name,
    workerId: row.worker_id,
    sha256: row.sha256,
    declaredBytes: row.declared_bytes === null ? null : Number(row.declared_bytes),
    maxBytes: Number(row.max_bytes),
    contentType: row.content_type,
    startedAt: row.created_at,
  };
}

function toStored(row: Selectable<ArtifactsTable>): StoredArtifact {
  return {
    artifactId: row.id,
    taskId: row.task_id,
    attempt: row.attempt,
    name: row.name,
    bytes: Number(row.bytes),
    sha256: row.sha256,
    contentType: row.content_type,
    createdAt: row.created_at,
    chunks: row.chunks,
  };
}
