/*
 * The gateway's part in secrets, the one place two services are asked in turn (backend services
 * never call each other; the edge may ask any of them):
 * - before a task is created: every secret its env or workspace credential references must be the caller's own — an
 *   unknown name (or another user's) is a 400 naming it, so a task never waits to fail for it;
 * - when an agent asks for an attempt's values: the tasks service confirms this worker holds the
 *   task's current attempt and names its owner and references, then auth decrypts them. Nothing
 *   is cached, so a requeue, a cancel or a deleted secret takes effect at once.
 */
import { Inject, Injectable } from '@nestjs/common';
import { DomainError, fieldsReferencing, secretRefsOf, rpcCatalog, type TaskSecrets } from '@agentyard/contracts';
import type { AccessClaims } from '@agentyard/service-kit';
import { NatsRpcClient } from '@agentyard/messaging';

@Injectable()
export class TaskSecretBroker {
  constructor(@Inject(NatsRpcClient) private readonly rpc: NatsRpcClient) {}

  /**
   * Refuses a task input that references secrets the caller does not have (400, naming each and
   * the env variable), or that an API token without `secrets:read` wants to hand to a process.
   */
  async assertUsable(claims: AccessClaims, input: unknown): Promise<void> {
    const names = secretRefsOf(input);
    if (names.length === 0) return;
    if (claims.kind === 'api-token' && !claims.scopes?.includes('secrets:read')) {
      throw new DomainError('FORBIDDEN', 'this API token lacks the secrets:read scope, which a task that references secrets needs', {
        scope: 'secrets:read',
      });
    }
    const { missing } = await this.rpc.call(rpcCatalog.secrets.findMissing, { userId: claims.sub, names });
    if (missing.length === 0) return;
    const details = missing.flatMap((name) =>
      fieldsReferencing(input, name).map((field) => ({
        field: `input.${field}`,
        message: `you have no secret named ${name}`,
      })),
    );
    const what =
      missing.length === 1 ? `secret ${missing[0]} does not exist: create it first` : `secrets ${missing.join(', ')} do not exist: create them first`;
    throw new DomainError('VALIDATION_FAILED', `${what} (POST /api/v1/secrets)`, details);
  }

  /** The values of a task's secrets, for the worker holding its current `attempt` (the guard has authenticated the worker). */
  async resolve(workerId: string, taskId: string, attempt: number): Promise<TaskSecrets> {
    const refs = await this.rpc.call(rpcCatalog.tasks.secretRefs, { workerId, taskId, attempt });
    if (refs.names.length === 0) return { values: {} };
    return this.rpc.call(rpcCatalog.secrets.resolve, { userId: refs.ownerId, names: refs.names, task: { taskId, attempt, workerId } });
  }
}
