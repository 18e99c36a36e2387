import { Inject, Injectable } from '@nestjs/common';
import { sql, type Kysely, type Transaction } from 'kysely';
import { isUuid } from '@agentyard/contracts';
import type { AuthDatabase, UsersTable } from './auth.database';

export const AUTH_DB = Symbol('AUTH_DB');

export type UserRow = Omit<UsersTable, 'created_at' | 'password_changed_at'> & { created_at: Date; password_changed_at: Date };

@Injectable()
export class UserRepository {
  constructor(@Inject(AUTH_DB) private readonly db: Kysely<AuthDatabase>) {}

  /** Finds by username or email, case-insensitively. */
  async findByLogin(login: string): Promise<UserRow | undefined> {
    const lower = login.toLowerCase();
    return this.db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb.or([eb(sql`lower(username)`, '=', lower), eb(sql`lower(email)`, '=', lower)]))
      .executeTakeFirst() as Promise<UserRow | undefined>;
  }

  async findById(id: string): Promise<UserRow | undefined> {
    if (!isUuid(id)) return undefined;
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst() as Promise<UserRow | undefined>;
  }

  /** Inserts; resolves 'taken' when the username or email exists (unique index, race-safe). */
  async insert(trx: Transaction<AuthDatabase>, user: { id: string; username: string; email: string; passwordHash: string }): Promise<UserRow | 'taken'> {
    const row = await trx
      .insertInto('users')
      .values({ id: user.id, username: user.username, email: user.email, password_hash: user.passwordHash })
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
    return (row as UserRow | undefined) ?? 'taken';
  }

  async updatePassword(trx: Transaction<AuthDatabase>, userId: string, passwordHash: string): Promise<void> {
    await trx
      .updateTable('users')
      .set({ password_hash: passwordHash, password_changed_at: sql`now()` })
      .where('id', '=', userId)
      .execute();
  }
}
