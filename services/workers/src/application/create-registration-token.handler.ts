import { Inject, Injectable } from '@nestjs/common';
import { newId, type CreateRegistrationTokenBody, type RegistrationToken } from '@agentyard/contracts';
import { issueSecret } from '../infrastructure/opaque-secret';
import { RegistrationTokenRepository } from '../infrastructure/registration-token.repository';
import { installCommand } from './install-command';
import { WORKERS_SETTINGS, type WorkersSettings } from './request-context';

/** Issues a registration token `ayr_<id>.<secret>`: shown once, stored as a hash, limited in uses and time. */
@Injectable()
export class CreateRegistrationTokenHandler {
  constructor(
    private readonly tokens: RegistrationTokenRepository,
    @Inject(WORKERS_SETTINGS) private readonly settings: WorkersSettings,
  ) {}

  async execute(cmd: { actor: { userId: string }; body: CreateRegistrationTokenBody }, now = new Date()): Promise<RegistrationToken> {
    const id = newId();
    const { wire, secretHash } = issueSecret('ayr_', id);
    const expiresAt = new Date(now.getTime() + cmd.body.ttlSeconds * 1000);
    await this.tokens.insert({ id, ownerId: cmd.actor.userId, secretHash, usesLeft: cmd.body.uses, expiresAt, labels: cmd.body.labels });
    return {
      id,
      token: wire,
      expiresAt: expiresAt.toISOString(),
      usesLeft: cmd.body.uses,
      installCommand: installCommand({ publicUrl: this.settings.publicUrl, token: wire, pkg: this.settings.agentPackage.current() }),
    };
  }
}
