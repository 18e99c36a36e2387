/*
 * Worker endpoints (`/workers/{id}/heartbeat`, `/pull-task`, `/nats-credentials`) authenticate with the
 * worker's own credential — `Authorization: Worker ayw_…` — never with a user's token. The
 * credential must belong to the worker named in the path.
 */
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainError, rpcCatalog, workerCredentialPattern } from '@agentyard/contracts';
import { NatsRpcClient } from '@agentyard/messaging';

@Injectable()
export class WorkerCredentialGuard implements CanActivate {
  constructor(@Inject(NatsRpcClient) private readonly rpc: NatsRpcClient) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest<{ Params: { id?: string } }>>();
    const match = /^Worker\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match?.[1]) throw new DomainError('UNAUTHENTICATED', 'send the worker credential: Authorization: Worker ayw_…');
    if (!workerCredentialPattern.test(match[1])) throw new DomainError('UNAUTHENTICATED', 'that is not a worker credential (expected ayw_…)');
    const { workerId } = await this.rpc.call(rpcCatalog.workers.authenticate, { credential: match[1] });
    if (request.params.id !== workerId) throw new DomainError('FORBIDDEN', 'this credential belongs to another worker');
    return true;
  }
}
