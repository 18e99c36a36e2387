/*
 * API tokens: opaque `ayt_<id>.<secret>`. Only a SHA-256 of the secret is stored (256 bits of
 * entropy, so a slow hash adds nothing); comparison is constant-time via `secretMatches`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { sql, type Kysely, type Transaction } from 'kysely';
import { apiTokenPattern, isUuid, newId } from '@agentyard/contracts';
import type { ApiTokensTable, AuthDatabase } from './auth.database';
import { AUTH_DB } from './user.repository';

export type ApiTokenRow = Omit<ApiTokensTable, 'created_at'> & { created_at: Date };

export const API_TOKEN_PREFIX = 'ayt_';

/** A new API token: the wire form (shown once) and what to store. */
export function newApiTokenSecret(): { id: string; wire: string; secretHash: string } {
  const id = newId();
  const secret = randomBytes(32).toString('base64url');
  return { id, wire: `${API_TOKEN_PREFIX}${id}.${secret}`, secretHash: createHash('sha256').update(secret).digest('hex') };
}

/** Splits `ayt_<id>.<secret>`; undefined when the shape is wrong. */
export function parseApiToken(wire: string): { id: string; secret: string } | undefined {
  if (!apiTokenPattern.test(wire)) return undefined;
  const dot = wire.indexOf('.');
  return { id: wire.slice(API_TOKEN_PREFIX.length, dot), secret: wire.slice(dot + 1) };
}

@Injectable()
export class ApiTokenRepository {
  constructor(@Inject(AUTH_DB) private readonly db: Kysely<AuthDatabase>) {}

  /** Takes a row lock on the user so concurrent creations count live tokens one at a time. */
  async lockUser(trx: Transaction<AuthDatabase>, userId: string): Promise<boolean> {
    const row = await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().executeTakeFirst();
    return !!row;
  }

  /** Tokens that still work: not revoked, not expired. */
  async countLive(trx: Transaction<AuthDatabase>, userId: string): Promise<number> {
    const row = await trx
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(
    trx: Transaction<AuthDatabase>,
    t: { id: string; userId: string; name: string; scopes: string[]; secretHash: string; expiresAt: Date | null },
  ): Promise<ApiTokenRow> {
    return (await trx
      .insertInto('api_tokens')
      .values({ id: t.id, user_id: t.userId, name: t.name, scopes: t.scopes, secret_hash: t.secretHash, expires_at: t.expiresAt })
      .returningAll()
      .executeTakeFirstOrThrow()) as ApiTokenRow;
  }

  /** The user's non-revoked tokens, newest first. */
  async listForUser(userId: string): Promise<ApiTokenRow[]> {
    return (await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute()) as ApiTokenRow[];
  }

  async findById(id: string): Promise<(ApiTokenRow & { username: string }) | undefined> {
    if (!isUuid(id)) return undefined;
    return (await this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .selectAll('api_tokens')
      .select('users.username')
      .where('api_tokens.id', '=', id)
      .executeTakeFirst()) as (ApiTokenRow & { username: string }) | undefined;
  }

  /** Marks the owner's token revoked; true when the token exists and belongs to the user (idempotent). */
  async revoke(userId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const owned = await this.db.selectFrom('api_tokens').select(['id', 'revoked_at']).where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    if (!owned) return false;
    if (!owned.revoked_at) {
      await this.db
        .updateTable('api_tokens')
        .set({ revoked_at: sql`now()` })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
    }
    return true;
  }

  /** Records use, at most once a minute per token (so a busy script does not write on every call). */
  async touch(id: string): Promise<void> {
    await this.db
      .updateTable('api_tokens')
      .set({ last_used_at: sql`now()` })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)]))
      .execute();
  }
}
