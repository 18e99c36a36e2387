/*
 * API tokens for scripts and CI: create (the secret is shown once), list, revoke, and
 * authenticate (called by the gateway for `Bearer ayt_…`). Every authentication failure gets the
 * same message, so a caller cannot tell an unknown token from a revoked or expired one.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { DomainError, type ApiToken, type ApiTokenIdentity, type ApiTokenScope, type CreateApiTokenBody, type CreatedApiToken } from '@agentyard/contracts';
import type { AuthDatabase } from '../infrastructure/auth.database';
import { ApiTokenRepository, newApiTokenSecret, parseApiToken, type ApiTokenRow } from '../infrastructure/api-token.repository';
import { secretMatches } from '../infrastructure/token-issuer';
import { AUTH_DB } from '../infrastructure/user.repository';

/** Live (non-revoked, unexpired) tokens a user may hold at once. */
export const maxLiveApiTokens = 50;

const invalidToken = (): DomainError => new DomainError('UNAUTHENTICATED', 'the API token is not valid');

export function toApiTokenView(row: ApiTokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes as ApiTokenScope[],
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at ? row.expires_at.toISOString() : null,
    lastUsedAt: row.last_used_at ? row.last_used_at.toISOString() : null,
  };
}

@Injectable()
export class ApiTokensHandler {
  constructor(
    @Inject(AUTH_DB) private readonly db: Kysely<AuthDatabase>,
    private readonly tokens: ApiTokenRepository,
  ) {}

  async create(userId: string, body: CreateApiTokenBody, now = new Date()): Promise<CreatedApiToken> {
    const secret = newApiTokenSecret();
    const expiresAt = body.expiresInDays ? new Date(now.getTime() + body.expiresInDays * 86_400_000) : null;
    const scopes = [...new Set(body.scopes)];
    const row = await this.db.transaction().execute(async (trx) => {
      if (!(await this.tokens.lockUser(trx, userId))) throw new DomainError('UNAUTHENTICATED', 'the account no longer exists');
      if ((await this.tokens.countLive(trx, userId)) >= maxLiveApiTokens) {
        throw new DomainError('CONFLICT', `you already have ${maxLiveApiTokens} active API tokens; revoke one first`);
      }
      return this.tokens.insert(trx, { id: secret.id, userId, name: body.name, scopes, secretHash: secret.secretHash, expiresAt });
    });
    return { ...toApiTokenView(row), token: secret.wire };
  }

  async list(userId: string): Promise<{ items: ApiToken[] }> {
    return { items: (await this.tokens.listForUser(userId)).map(toApiTokenView) };
  }

  /** Revokes one of the caller's tokens; another user's (or an unknown) token is a 404. Idempotent. */
  async revoke(userId: string, tokenId: string): Promise<{ revoked: true }> {
    if (!(await this.tokens.revoke(userId, tokenId))) throw new DomainError('NOT_FOUND', 'no such API token');
    return { revoked: true };
  }

  async authenticate(wire: string, now = new Date()): Promise<ApiTokenIdentity> {
    const parsed = parseApiToken(wire);
    if (!parsed) throw invalidToken();
    const row = await this.tokens.findById(parsed.id);
    const ok = !!row && secretMatches(parsed.secret, row.secret_hash);
    if (!row || !ok || row.revoked_at || (row.expires_at && row.expires_at.getTime() <= now.getTime())) throw invalidToken();
    await this.tokens.touch(row.id);
    return { userId: row.user_id, username: row.username, scopes: row.scopes as ApiTokenScope[], tokenId: row.id };
  }
}
