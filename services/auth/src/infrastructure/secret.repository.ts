/*
 * All SQL over `secrets`. Values arrive and leave sealed (SealedSecret): this layer never sees a
 * plaintext. Listing selects names and dates only, so a list can never carry a value.
 */
import { Inject, Injectable } from '@nestjs/common';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { AuthDatabase } from './auth.database';
import type { SealedSecret } from './secret-cipher';
import { AUTH_DB } from './user.repository';

export interface SecretMetadataRow {
  name: string;
  created_at: Date;
  updated_at: Date;
}

export interface SealedSecretRow extends SealedSecret {
  userId: string;
  name: string;
}

const isUuid = (id: string): boolean => /^[0-9a-f-]{36}$/i.test(id);

@Injectable()
export class SecretRepository {
  constructor(@Inject(AUTH_DB) private readonly db: Kysely<AuthDatabase>) {}

  /** Locks the user's row, so one user's creations count and check names one at a time; false when the user is gone. */
  async lockUser(trx: Transaction<AuthDatabase>, userId: string): Promise<boolean> {
    if (!isUuid(userId)) return false;
    return !!(await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().executeTakeFirst());
  }

  async count(trx: Transaction<AuthDatabase>, userId: string): Promise<number> {
    const row = await trx
      .selectFrom('secrets')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** True when the user has a secret of that name; locks the row for the transaction. */
  async lockOne(trx: Transaction<AuthDatabase>, userId: string, name: string): Promise<boolean> {
    if (!isUuid(userId)) return false;
    return !!(await trx.selectFrom('secrets').select('name').where('user_id', '=', userId).where('name', '=', name).forUpdate().executeTakeFirst());
  }

  async insert(trx: Transaction<AuthDatabase>, userId: string, name: string, sealed: SealedSecret): Promise<SecretMetadataRow> {
    return trx
      .insertInto('secrets')
      .values({ user_id: userId, name, key_id: sealed.keyId, nonce: sealed.nonce, ciphertext: sealed.ciphertext })
      .returning(['name', 'created_at', 'updated_at'])
      .executeTakeFirstOrThrow();
  }

  async replace(trx: Transaction<AuthDatabase>, userId: string, name: string, sealed: SealedSecret): Promise<SecretMetadataRow> {
    return trx
      .updateTable('secrets')
      .set({ key_id: sealed.keyId, nonce: sealed.nonce, ciphertext: sealed.ciphertext, updated_at: sql`now()` })
      .where('user_id', '=', userId)
      .where('name', '=', name)
      .returning(['name', 'created_at', 'updated_at'])
      .executeTakeFirstOrThrow();
  }

  async delete(trx: Transaction<AuthDatabase>, userId: string, name: string): Promise<void> {
    await trx.deleteFrom('secrets').where('user_id', '=', userId).where('name', '=', name).execute();
  }

  /** The user's secrets by name: names and dates, never the sealed value. */
  async list(userId: string): Promise<SecretMetadataRow[]> {
    if (!isUuid(userId)) return [];
    return this.db.selectFrom('secrets').select(['name', 'created_at', 'updated_at']).where('user_id', '=', userId).orderBy('name').execute();
  }

  /** Which of `names` the user has. */
  async existingNames(userId: string, names: readonly string[]): Promise<string[]> {
    if (names.length === 0 || !isUuid(userId)) return [];
    const rows = await this.db
      .selectFrom('secrets')
      .select('name')
      .where('user_id', '=', userId)
      .where('name', 'in', [...names])
      .execute();
    return rows.map((r) => r.name);
  }

  /** The sealed values of those of `names` the user has. */
  async sealed(userId: string, names: readonly string[]): Promise<SealedSecretRow[]> {
    if (names.length === 0 || !isUuid(userId)) return [];
    const rows = await this.db
      .selectFrom('secrets')
      .select(['user_id', 'name', 'key_id', 'nonce', 'ciphertext'])
      .where('user_id', '=', userId)
      .where('name', 'in', [...names])
      .execute();
    return rows.map(toSealedRow);
  }

  /** Up to `limit` rows sealed with one of `keyIds` (older keys this service can still open). */
  async sealedWith(keyIds: readonly string[], limit: number): Promise<SealedSecretRow[]> {
    if (keyIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('secrets')
      .select(['user_id', 'name', 'key_id', 'nonce', 'ciphertext'])
      .where('key_id', 'in', [...keyIds])
      .limit(limit)
      .execute();
    return rows.map(toSealedRow);
  }

  /** Rows sealed with a key that is neither current nor among `knownKeyIds`: unreadable until that key is configured. */
  async countSealedWithout(knownKeyIds: readonly string[]): Promise<number> {
    const row = await this.db
      .selectFrom('secrets')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('key_id', 'not in', [...knownKeyIds])
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Re-seals one row, only if it still holds what was read (another instance may have re-sealed
   * it, or the user changed it meanwhile). Leaves `updated_at`: the value did not change.
   */
  async reseal(row: SealedSecretRow, sealed: SealedSecret): Promise<boolean> {
    const result = await this.db
      .updateTable('secrets')
      .set({ key_id: sealed.keyId, nonce: sealed.nonce, ciphertext: sealed.ciphertext })
      .where('user_id', '=', row.userId)
      .where('name', '=', row.name)
      .where('key_id', '=', row.keyId)
      .where('nonce', '=', row.nonce)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function toSealedRow(r: { user_id: string; name: string; key_id: string; nonce: Buffer; ciphertext: Buffer }): SealedSecretRow {
  return { userId: r.user_id, name: r.name, keyId: r.key_id, nonce: r.nonce, ciphertext: r.ciphertext };
}
