import { Inject, Injectable } from '@nestjs/common';
import { DomainError, type TokenPair } from '@agentyard/contracts';
import { decideRefresh } from '../domain/refresh-token.decide';
import { SessionRepository } from '../infrastructure/session.repository';
import { parseRefreshToken, secretMatches } from '../infrastructure/token-issuer';
import { UserRepository } from '../infrastructure/user.repository';
import { AuthEventLog, type RequestContext } from './auth-event-log';
import { SessionIssuer } from './session-issuer';
import { REVOKED_FAMILIES } from './logout.handler';
import type { RevocationList } from '@agentyard/service-kit';

const rejected = (message: string): DomainError => new DomainError('UNAUTHENTICATED', message);

@Injectable()
export class RefreshSessionHandler {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly issuer: SessionIssuer,
    private readonly events: AuthEventLog,
    @Inject(REVOKED_FAMILIES) private readonly revokedFamilies: RevocationList,
  ) {}

  /** Rotates the refresh token; a reused one revokes its whole family (then 401). */
  async execute(refreshToken: string, ctx: RequestContext): Promise<TokenPair> {
    const parsed = parseRefreshToken(refreshToken);
    if (!parsed) throw rejected('the refresh token is malformed');
    const { token, family } = await this.sessions.load(parsed.id);
    const decision = decideRefresh({
      token,
      family,
      secretMatches: !!token && secretMatches(parsed.secret, token.secretHash),
      now: new Date(),
    });
    switch (decision.kind) {
      case 'reject':
        throw rejected(decision.reason === 'expired' ? 'the refresh token has expired; log in again' : 'the refresh token is not valid; log in again');
      case 'reuse-detected':
        await this.revokeForReuse(decision.userId, decision.familyId, ctx);
        throw rejected('the refresh token was already used; every session of this login was revoked');
      case 'rotate': {
        const user = await this.users.findById(decision.userId);
        if (!user) throw rejected('the refresh token is not valid; log in again');
        const outcome = await this.events.commit<TokenPair | 'raced'>(user.id, ctx, async (trx) => {
          // Two requests racing with one token: exactly one marks it used; the other is a reuse.
          if (!(await this.sessions.markUsed(trx, decision.tokenId))) return { facts: [], result: 'raced' as const };
          const pair = await this.issuer.issue(trx, user, decision.familyId);
          return { facts: [{ type: 'SessionRefreshed', data: { userId: user.id, familyId: decision.familyId } }], result: pair };
        });
        if (outcome === 'raced') {
          await this.revokeForReuse(decision.userId, decision.familyId, ctx);
          throw rejected('the refresh token was already used; every session of this login was revoked');
        }
        return outcome;
      }
      default: {
        const never: never = decision;
        throw new Error(`unhandled decision ${JSON.stringify(never)}`);
      }
    }
  }

  /** The family's refresh tokens stop working, and (KV) so do its live access tokens and sockets. */
  private async revokeForReuse(userId: string, familyId: string, ctx: RequestContext): Promise<void> {
    await this.events.commit(userId, ctx, async (trx) => {
      await this.sessions.revokeFamily(trx, familyId, 'reuse-detected');
      return { facts: [{ type: 'RefreshTokenReuseDetected', data: { userId, familyId } }], result: undefined };
    });
    await this.revokedFamilies.revoke(familyId);
  }
}
