import { Inject, Injectable } from '@nestjs/common';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { WorkerCredentialsTable, WorkersDatabase } from './workers.database';
import { WORKERS_DB } from './worker-view.repository';

export type WorkerCredentialRow = Selectable<WorkerCredentialsTable>;

/** Hashes of worker credentials, one per worker (the credential id is the worker id). */
@Injectable()
export class WorkerCredentialRepository {
  constructor(@Inject(WORKERS_DB) private readonly db: Kysely<WorkersDatabase>) {}

  async insert(trx: Transaction<WorkersDatabase>, workerId: string, secretHash: string): Promise<void> {
    await trx.insertInto('worker_credentials').values({ worker_id: workerId, secret_hash: secretHash }).execute();
  }

  async find(workerId: string): Promise<WorkerCredentialRow | undefined> {
    return this.db.selectFrom('worker_credentials').selectAll().where('worker_id', '=', workerId).executeTakeFirst();
  }

  /** Marks the credential revoked (keeps the first revocation time). */
  async revoke(trx: Transaction<WorkersDatabase>, workerId: string): Promise<void> {
    await trx
      .updateTable('worker_credentials')
      .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
      .where('worker_id', '=', workerId)
      .execute();
  }
}
