/** Refresh-token families and tokens. Marking a token used is atomic (first presenter wins). */
import { Inject, Injectable } from '@nestjs/common';
import { sql, type Kysely, type Transaction } from 'kysely';
import { isUuid } from '@agentyard/contracts';
import type { RefreshFamilyRecord, RefreshTokenRecord } from '../domain/refresh-token.decide';
import type { AuthDatabase } from './auth.database';
import { AUTH_DB } from './user.repository';

@Injectable()
export class SessionRepository {
  constructor(@Inject(AUTH_DB) private readonly db: Kysely<AuthDatabase>) {}

  async createFamily(trx: Transaction<AuthDatabase>, familyId: string, userId: string): Promise<void> {
    await trx.insertInto('refresh_families').values({ id: familyId, user_id: userId, revoked_at: null, revoked_reason: null }).execute();
  }

  async insertToken(
    trx: Transaction<AuthDatabase>,
    token: { id: string; familyId: string; userId: string; secretHash: string; expiresAt: Date },
  ): Promise<void> {
    await trx
      .insertInto('refresh_tokens')
      .values({ id: token.id, family_id: token.familyId, user_id: token.userId, secret_hash: token.secretHash, expires_at: token.expiresAt, used_at: null })
      .execute();
  }

  async load(tokenId: string): Promise<{ token?: RefreshTokenRecord & { secretHash: string }; family?: RefreshFamilyRecord }> {
    if (!isUuid(tokenId)) return {};
    const row = await this.db
      .selectFrom('refresh_tokens as t')
      .innerJoin('refresh_families as f', 'f.id', 't.family_id')
      .select(['t.id', 't.family_id', 't.user_id', 't.secret_hash', 't.expires_at', 't.used_at', 'f.revoked_at'])
      .where('t.id', '=', tokenId)
      .executeTakeFirst();
    if (!row) return {};
    return {
      token: { id: row.id, familyId: row.family_id, userId: row.user_id, expiresAt: row.expires_at, usedAt: row.used_at, secretHash: row.secret_hash },
      family: { id: row.family_id, revokedAt: row.revoked_at },
    };
  }

  /** Marks the token used; false when another request used it first (then it is a reuse). */
  async markUsed(trx: Transaction<AuthDatabase>, tokenId: string): Promise<boolean> {
    const res = await trx
      .updateTable('refresh_tokens')
      .set({ used_at: sql`now()` })
      .where('id', '=', tokenId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return res.numUpdatedRows === 1n;
  }

  async revokeFamily(trx: Transaction<AuthDatabase> | Kysely<AuthDatabase>, familyId: string, reason: string): Promise<void> {
    await trx
      .updateTable('refresh_families')
      .set({ revoked_at: sql`now()`, revoked_reason: reason })
      .where('id', '=', familyId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /**
   * Revokes every live family of a user except `keepFamilyId` (the caller's own session);
   * returns the ids of the families it revoked.
   */
  async revokeAllFamilies(trx: Transaction<AuthDatabase>, userId: string, reason: string, keepFamilyId?: string): Promise<string[]> {
    let q = trx
      .updateTable('refresh_families')
      .set({ revoked_at: sql`now()`, revoked_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (keepFamilyId && isUuid(keepFamilyId)) q = q.where('id', '!=', keepFamilyId);
    return (await q.returning('id').execute()).map((r) => r.id);
  }
}
