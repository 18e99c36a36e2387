import { Injectable } from '@nestjs/common';
import type { Transaction } from 'kysely';
import type { TokenPair } from '@agentyard/contracts';
import type { AuthDatabase } from '../infrastructure/auth.database';
import { SessionRepository } from '../infrastructure/session.repository';
import { TokenIssuer } from '../infrastructure/token-issuer';

/** Issues a token pair inside a transaction: a refresh token in `familyId` plus an access JWT. */
@Injectable()
export class SessionIssuer {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly tokens: TokenIssuer,
  ) {}

  async issue(trx: Transaction<AuthDatabase>, user: { id: string; username: string }, familyId: string): Promise<TokenPair> {
    const refresh = this.tokens.newRefreshToken();
    await this.sessions.insertToken(trx, { id: refresh.id, familyId, userId: user.id, secretHash: refresh.secretHash, expiresAt: refresh.expiresAt });
    const access = await this.tokens.issueAccessToken(user, familyId);
    return { accessToken: access.token, refreshToken: refresh.wire, tokenType: 'Bearer', expiresIn: access.expiresIn };
  }
}
