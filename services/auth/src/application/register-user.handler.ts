import { Inject, Injectable } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { DomainError, newId, type RegisterUserCommand, type User } from '@agentyard/contracts';
import type { AuthDatabase } from '../infrastructure/auth.database';
import { refuseCommonPassword } from '../infrastructure/common-passwords';
import { LoginRateLimiter } from '../infrastructure/login-rate-limiter';
import { PasswordHasher } from '../infrastructure/password-hasher';
import { AUTH_DB, UserRepository } from '../infrastructure/user.repository';
import { AUTH_EVENT_LOG, authEvent, userStream, type AuthEventLog, type RequestContext } from './auth-event-log';
import { toUserView } from './user-view';

@Injectable()
export class RegisterUserHandler {
  constructor(
    @Inject(AUTH_DB) private readonly db: Kysely<AuthDatabase>,
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly limiter: LoginRateLimiter,
    @Inject(AUTH_EVENT_LOG) private readonly events: AuthEventLog,
  ) {}

  /**
   * Creates the user and its UserRegistered event atomically; 409 when the name or email is
   * taken, 400 for a common password, 429 when the client registers too often.
   */
  async execute(cmd: RegisterUserCommand, ctx: RequestContext): Promise<User> {
    await this.limiter.beforeRegistration(cmd.ip);
    refuseCommonPassword(cmd.password, 'password');
    const passwordHash = await this.hasher.hash(cmd.password);
    const id = newId();
    return this.db.transaction().execute(async (trx) => {
      const row = await this.users.insert(trx, { id, username: cmd.username, email: cmd.email, passwordHash });
      if (row === 'taken') throw new DomainError('CONFLICT', 'that username or email is already registered');
      await this.events.append(trx, userStream(id), [authEvent('UserRegistered', { userId: id, username: row.username, email: row.email }, ctx, id)]);
      return toUserView(row);
    });
  }
}
