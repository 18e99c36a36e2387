import { Injectable } from '@nestjs/common';
import { DomainError, newId, type LoginCommand, type TokenPair } from '@agentyard/contracts';
import { accountKey, LoginRateLimiter } from '../infrastructure/login-rate-limiter';
import { PasswordHasher } from '../infrastructure/password-hasher';
import { SessionRepository } from '../infrastructure/session.repository';
import { UserRepository } from '../infrastructure/user.repository';
import { AuthEventLog, type RequestContext } from './auth-event-log';
import { SessionIssuer } from './session-issuer';

/** Same answer for "no such user" and "wrong password": the caller must not learn which. */
const badCredentials = (): DomainError => new DomainError('UNAUTHENTICATED', 'invalid username or password');

@Injectable()
export class LoginHandler {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly hasher: PasswordHasher,
    private readonly issuer: SessionIssuer,
    private readonly limiter: LoginRateLimiter,
    private readonly events: AuthEventLog,
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
    return this.events.commit(user.id, ctx, async (trx) => {
      await this.sessions.createFamily(trx, familyId, user.id);
      const pair = await this.issuer.issue(trx, user, familyId);
      return { facts: [{ type: 'UserLoggedIn', data: { userId: user.id, familyId } }], result: pair };
    });
  }
}
