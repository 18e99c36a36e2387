import { Inject, Injectable } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { DomainError, newId, type LoginCommand, type TokenPair } from '@agentyard/contracts';
import type { AuthDatabase } from '../infrastructure/auth.database';
import { accountKey, LoginRateLimiter } from '../infrastructure/login-rate-limiter';
import { PasswordHasher } from '../infrastructure/password-hasher';
import { SessionRepository } from '../infrastructure/session.repository';
import { AUTH_DB, UserRepository } from '../infrastructure/user.repository';
import { AUTH_EVENT_LOG, authEvent, userStream, type AuthEventLog, type RequestContext } from './auth-event-log';
import { SessionIssuer } from './session-issuer';

/** Same answer for "no such user" and "wrong password": the caller must not learn which. */
const badCredentials = (): DomainError => new DomainError('UNAUTHENTICATED', 'invalid username or password');

@Injectable()
export class LoginHandler {
  constructor(
    @Inject(AUTH_DB) private readonly db: Kysely<AuthDatabase>,
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly hasher: PasswordHasher,
    private readonly issuer: SessionIssuer,
    private readonly limiter: LoginRateLimiter,
    @Inject(AUTH_EVENT_LOG) private readonly events: AuthEventLog,
  ) {}

  async execute(cmd: LoginCommand, ctx: RequestContext): Promise<TokenPair> {
    await this.limiter.beforeAttempt(cmd.ip);
    const user = await this.users.findByLogin(cmd.username);
    // Failures count against the account, whichever of its names was typed (and in any case).
    const account = accountKey(user, cmd.username);
    await this.limiter.beforeAccountAttempt(account);
    const ok = user ? await this.hasher.verify(user.password_hash, cmd.password) : await this.hasher.verifyDummy(cmd.password);
    if (!user || !ok) {
      await this.limiter.onFailure(account);
      throw badCredentials();
    }
    await this.limiter.onSuccess(account);
    const familyId = newId();
    return this.db.transaction().execute(async (trx) => {
      await this.sessions.createFamily(trx, familyId, user.id);
      const pair = await this.issuer.issue(trx, user, familyId);
      await this.events.append(trx, userStream(user.id), [authEvent('UserLoggedIn', { userId: user.id, familyId }, ctx, user.id)]);
      return pair;
    });
  }
}
