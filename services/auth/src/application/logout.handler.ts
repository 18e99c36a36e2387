import { Inject, Injectable } from '@nestjs/common';
import type { LogoutCommand } from '@agentyard/contracts';
import type { RevocationList } from '@agentyard/service-kit';
import { SessionRepository } from '../infrastructure/session.repository';
import { AuthEventLog, type RequestContext } from './auth-event-log';

export const REVOCATION_LIST = Symbol('REVOCATION_LIST');
/** The revoked-families KV (contracts' revokedFamiliesBucket): the gateway refuses their access tokens. */
export const REVOKED_FAMILIES = Symbol('REVOKED_FAMILIES');

@Injectable()
export class LogoutHandler {
  constructor(
    private readonly sessions: SessionRepository,
    @Inject(REVOCATION_LIST) private readonly revocations: RevocationList,
    @Inject(REVOKED_FAMILIES) private readonly revokedFamilies: RevocationList,
    private readonly events: AuthEventLog,
  ) {}

  /**
   * Revokes the access token at once (KV) and the session it came from: its refresh family, and
   * (KV) every other access token of that family still alive. Idempotent.
   */
  async execute(cmd: LogoutCommand, ctx: RequestContext): Promise<{ loggedOut: true }> {
    await Promise.all([this.revocations.revoke(cmd.jti), cmd.familyId ? this.revokedFamilies.revoke(cmd.familyId) : undefined]);
    await this.events.commit(cmd.userId, ctx, async (trx) => {
      if (cmd.familyId) await this.sessions.revokeFamily(trx, cmd.familyId, 'logout');
      return {
        facts: [{ type: 'UserLoggedOut', data: cmd.familyId ? { userId: cmd.userId, familyId: cmd.familyId } : { userId: cmd.userId } }],
        result: undefined,
      };
    });
    return { loggedOut: true };
  }
}
