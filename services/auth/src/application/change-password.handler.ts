import { Inject, Injectable } from '@nestjs/common';
import { DomainError, type ChangePasswordCommand } from '@agentyard/contracts';
import { refuseCommonPassword } from '../infrastructure/common-passwords';
import { PasswordHasher } from '../infrastructure/password-hasher';
import { SessionRepository } from '../infrastructure/session.repository';
import { UserRepository } from '../infrastructure/user.repository';
import { REVOKED_FAMILIES } from './logout.handler';
import type { RevocationList } from '@agentyard/service-kit';
import { AuthEventLog, type RequestContext } from './auth-event-log';

@Injectable()
export class ChangePasswordHandler {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly hasher: PasswordHasher,
    private readonly events: AuthEventLog,
    @Inject(REVOKED_FAMILIES) private readonly revokedFamilies: RevocationList,
  ) {}

  /**
   * Changes the password and signs out every other session of the user: their refresh tokens
   * stop working, and their families go to the revoked-families KV, so the gateway refuses their
   * access tokens and closes their WebSockets at once. API tokens are not sessions and live on.
   */
  async execute(cmd: ChangePasswordCommand, ctx: RequestContext): Promise<{ changed: true }> {
    const user = await this.users.findById(cmd.userId);
    if (!user) throw new DomainError('UNAUTHENTICATED', 'the account no longer exists');
    if (!(await this.hasher.verify(user.password_hash, cmd.currentPassword))) {
      throw new DomainError('VALIDATION_FAILED', 'the current password is wrong', [{ field: 'currentPassword', message: 'does not match' }]);
    }
    if (cmd.currentPassword === cmd.newPassword) {
      throw new DomainError('VALIDATION_FAILED', 'the new password must differ from the current one', [{ field: 'newPassword', message: 'same as current' }]);
    }
    refuseCommonPassword(cmd.newPassword, 'newPassword');
    const hash = await this.hasher.hash(cmd.newPassword);
    const revoked = await this.events.commit(user.id, ctx, async (trx) => {
      await this.users.updatePassword(trx, user.id, hash);
      const families = await this.sessions.revokeAllFamilies(trx, user.id, 'password-changed', cmd.familyId);
      return { facts: [{ type: 'PasswordChanged', data: { userId: user.id } }], result: families };
    });
    // After the commit: a failed change must not sign anybody out.
    await Promise.all(revoked.map((familyId) => this.revokedFamilies.revoke(familyId)));
    return { changed: true };
  }
}
