/*
 * A worker's NATS credentials (ARCHITECTURE.md "Worker NATS credentials"). The gateway has just
 * authenticated the worker's platform credential; it is checked again here, so a revocation that
 * lands between the two still refuses. Credentials expire (the issuer's TTL) and the agent asks
 * again before they do: revoking the platform credential ends a worker's NATS access by the
 * expiry of what it holds. When the platform's NATS runs without auth there is no issuer and the
 * answer is all null (the agent then connects without credentials).
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import { DomainError, type WorkerNatsCredentials } from '@agentyard/contracts';
import { WorkerCredentialRepository } from '../infrastructure/worker-credential.repository';

export const WORKER_NATS_ISSUER = Symbol('WORKER_NATS_ISSUER');

/** Mints a worker's NATS user (messaging's issueWorkerCreds in production). */
export interface WorkerNatsIssuer {
  issue(workerId: string): Promise<{ creds: string; expiresAt: string }>;
  /** The inbox prefix the worker's connection must use. */
  inboxPrefix(workerId: string): string;
}

@Injectable()
export class IssueNatsCredentialsHandler {
  constructor(
    private readonly credentials: WorkerCredentialRepository,
    @Optional() @Inject(WORKER_NATS_ISSUER) private readonly issuer?: WorkerNatsIssuer | null,
  ) {}

  async execute(workerId: string): Promise<WorkerNatsCredentials> {
    const row = await this.credentials.find(workerId);
    if (!row) throw new DomainError('NOT_FOUND', `worker ${workerId} not found`);
    if (row.revoked_at !== null) throw new DomainError('UNAUTHENTICATED', 'worker credential was revoked: register the worker again');
    if (!this.issuer) return { creds: null, expiresAt: null, inboxPrefix: null };
    const { creds, expiresAt } = await this.issuer.issue(workerId);
    return { creds, expiresAt, inboxPrefix: this.issuer.inboxPrefix(workerId) };
  }
}
