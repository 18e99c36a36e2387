import { Inject, Injectable } from '@nestjs/common';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { RegistrationTokensTable, WorkersDatabase } from './workers.database';
import { WORKERS_DB } from './worker-view.repository';

export type RegistrationTokenRow = Selectable<RegistrationTokensTable>;

@Injectable()
export class RegistrationTokenRepository {
  constructor(@Inject(WORKERS_DB) private readonly db: Kysely<WorkersDatabase>) {}

  async insert(token: { id: string; ownerId: string; secretHash: string; usesLeft: number; expiresAt: Date; labels: string[] }): Promise<void> {
    await this.db
      .insertInto('registration_tokens')
      .values({
        id: token.id,
        owner_id: token.ownerId,
        secret_hash: token.secretHash,
        uses_left: token.usesLeft,
        expires_at: token.expiresAt,
        labels: JSON.stringify(token.labels),
      })
      .execute();
  }

  /** Reads the token and locks its row until `trx` ends, so concurrent registrations count uses exactly. */
  async lockForUse(trx: Transaction<WorkersDatabase>, id: string): Promise<RegistrationTokenRow | undefined> {
    return trx.selectFrom('registration_tokens').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  async consumeUse(trx: Transaction<WorkersDatabase>, id: string): Promise<void> {
    await trx
      .updateTable('registration_tokens')
      .set((eb) => ({ uses_left: eb('uses_left', '-', 1) }))
      .where('id', '=', id)
      .execute();
  }
}
