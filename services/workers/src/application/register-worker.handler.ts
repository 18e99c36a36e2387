/*
 * Registration (design "Registration and credentials"). Invariant: one use of the token is
 * consumed in the SAME transaction that appends WorkerRegistered + WorkerRoleGranted{owner} and
 * stores the credential hash (handleCommandInTransaction: the command is built from the locked
 * token row), so a failed registration leaves nothing behind (no worker row, no
 * event, no use spent) and a token's uses are counted exactly even under concurrent
 * registrations (its row is locked). The WORK consumer is created before that transaction
 * commits: if creating it fails, nothing is committed. Tested in test/workers.int.spec.ts.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { DomainError, newId, type RegisterWorkerBody, type WorkerRegistration } from '@agentyard/contracts';
import { handleCommandInTransaction, type ProjectionRunner } from '@agentyard/event-sourcing';
import type { PostgresEventStore } from '@agentyard/event-store';
import { workerStreamId } from '../domain/worker';
import { workerDecider, type WorkerCommand } from '../domain/worker.decide';
import { issueSecret, parseSecret, secretMatches } from '../infrastructure/opaque-secret';
import { RegistrationTokenRepository } from '../infrastructure/registration-token.repository';
import { WorkConsumers } from '../infrastructure/work-consumers';
import { WorkerCredentialRepository } from '../infrastructure/worker-credential.repository';
import { WORKERS_DB } from '../infrastructure/worker-view.repository';
import type { WorkersDatabase } from '../infrastructure/workers.database';
import { metadataFor, WORKERS_SETTINGS, type RequestContext, type WorkersSettings } from './request-context';
import { WORKER_EVENT_STORE, WORKER_VIEW_PROJECTION } from './worker-commands';

/** The same answer for an unknown token and a wrong secret: nothing to probe. */
const INVALID_TOKEN = 'registration token is not valid: create a new one with POST /workers/registration-tokens';

@Injectable()
export class RegisterWorkerHandler {
  constructor(
    @Inject(WORKERS_DB) private readonly db: Kysely<WorkersDatabase>,
    @Inject(WORKER_EVENT_STORE) private readonly store: PostgresEventStore,
    @Inject(WORKER_VIEW_PROJECTION) private readonly projection: ProjectionRunner<WorkersDatabase>,
    @Inject(WORKERS_SETTINGS) private readonly settings: WorkersSettings,
    private readonly tokens: RegistrationTokenRepository,
    private readonly credentials: WorkerCredentialRepository,
    private readonly consumers: WorkConsumers,
  ) {}

  async execute(body: RegisterWorkerBody, ctx: RequestContext, now = new Date()): Promise<WorkerRegistration> {
    const presented = parseSecret('ayr_', body.token);
    if (!presented)
      throw new DomainError('VALIDATION_FAILED', 'invalid body: token: token is not a registration token (expected ayr_…)', [
        { field: 'token', message: 'expected ayr_<id>.<secret>' },
      ]);
    const workerId = newId();
    const credential = issueSecret('ayw_', workerId);
    let consumerCreated = false;
    try {
      await handleCommandInTransaction({
        db: this.db,
        store: this.store,
        streamId: workerStreamId(workerId),
        decider: workerDecider,
        assumeNew: true, // its id was just made up
        now: () => now,
        // The token, locked for the transaction, says whose worker it is and which labels it starts with.
        command: async (trx): Promise<WorkerCommand> => {
          const token = await this.tokens.lockForUse(trx, presented.id);
          if (!token || !secretMatches(presented.secret, token.secret_hash)) throw new DomainError('UNAUTHENTICATED', INVALID_TOKEN);
          if (token.expires_at.getTime() <= now.getTime()) {
            throw new DomainError('UNAUTHENTICATED', `registration token expired at ${token.expires_at.toISOString()}: create a new one`);
          }
          if (token.uses_left <= 0) throw new DomainError('UNAUTHENTICATED', 'registration token has no uses left: create a new one');
          await this.tokens.consumeUse(trx, token.id);
          return {
            kind: 'RegisterWorker',
            workerId,
            ownerId: token.owner_id,
            name: body.name,
            hostname: body.hostname,
            platform: body.platform,
            arch: body.arch,
            tools: body.tools,
            slots: body.slots,
            resources: body.resources,
            labels: [...new Set([...token.labels, ...body.labels])].sort(),
            agentVersion: body.agentVersion,
          };
        },
        metadata: (command) => metadataFor(ctx, command.kind === 'RegisterWorker' ? command.ownerId : undefined),
        withRows: async (trx) => {
          await this.credentials.insert(trx, workerId, credential.secretHash);
          consumerCreated = true;
          await this.consumers.ensure(workerId);
        },
      });
    } catch (error) {
      // The transaction rolled back: a consumer created for it would belong to no worker.
      if (consumerCreated) await this.consumers.remove(workerId).catch(() => undefined);
      throw error;
    }
    // Read-your-writes: the owner shares or drains the new worker right after this answer, and
    // the gateway checks their role on the read model first (it 404'd under load before this).
    await this.projection.catchUp();
    return { workerId, credential: credential.wire, natsUrl: this.settings.natsPublicUrl, heartbeatIntervalMs: this.settings.heartbeatIntervalMs };
  }
}
