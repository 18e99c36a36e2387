import { Injectable } from '@nestjs/common';
import { DomainError, newId, type RegisterUserCommand, type User } from '@agentyard/contracts';
import { refuseCommonPassword } from '../infrastructure/common-passwords';
import { LoginRateLimiter } from '../infrastructure/login-rate-limiter';
import { PasswordHasher } from '../infrastructure/password-hasher';
import { UserRepository } from '../infrastructure/user.repository';
import { AuthEventLog, type RequestContext } from './auth-event-log';
import { toUserView } from './user-view';

@Injectable()
export class RegisterUserHandler {
  constructor(
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly limiter: LoginRateLimiter,
    private readonly events: AuthEventLog,
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
    return this.events.commit(id, ctx, async (trx) => {
      const row = await this.users.insert(trx, { id, username: cmd.username, email: cmd.email, passwordHash });
      if (row === 'taken') throw new DomainError('CONFLICT', 'that username or email is already registered');
      return { facts: [{ type: 'UserRegistered', data: { userId: id, username: row.username, email: row.email } }], result: toUserView(row) };
    });
  }
}
