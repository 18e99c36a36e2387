import { Injectable } from '@nestjs/common';
import { DomainError } from '@agentyard/contracts';
import { parseSecret, secretMatches } from '../infrastructure/opaque-secret';
import { WorkerCredentialRepository } from '../infrastructure/worker-credential.repository';

/** One answer for every failure (malformed, unknown, wrong secret, revoked): nothing to probe. */
const REJECTED = 'worker credential is not valid or was revoked: register the worker again';

/** Resolves a worker credential `ayw_<workerId>.<secret>` to its worker id (the gateway's worker auth). */
@Injectable()
export class AuthenticateWorkerQuery {
  constructor(private readonly credentials: WorkerCredentialRepository) {}

  async execute(credential: string): Promise<{ workerId: string }> {
    const presented = parseSecret('ayw_', credential);
    if (!presented) throw new DomainError('UNAUTHENTICATED', REJECTED);
    const row = await this.credentials.find(presented.id);
    // Compare even when revoked, so a revoked and a live credential take the same time.
    const matches = row ? secretMatches(presented.secret, row.secret_hash) : false;
    if (!row || !matches || row.revoked_at !== null) throw new DomainError('UNAUTHENTICATED', REJECTED);
    return { workerId: row.worker_id };
  }
}
