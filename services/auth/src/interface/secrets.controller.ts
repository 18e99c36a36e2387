/**
 * Auth's NATS endpoints for user secrets. Thin: validate the payload again (the edge is not the
 * only caller), call one handler. Only the gateway sends these; `resolve` only after the tasks
 * service confirmed the asking worker holds the task's current attempt.
 */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { parseOrThrow, rpcCatalog, type Secret, type SecretList, type TaskSecrets } from '@agentyard/contracts';
import { requestContext } from './request-context';
import { SecretsHandler } from '../application/secrets.handler';

/** Subjects and request schemas from the catalog, shared with the gateway's calls. */
const secretsRpc = rpcCatalog.secrets;

@Controller()
export class SecretsController {
  constructor(private readonly secrets: SecretsHandler) {}

  @MessagePattern(secretsRpc.create.subject)
  onCreate(@Payload() data: unknown): Promise<Secret> {
    const cmd = parseOrThrow(secretsRpc.create.request, data);
    return this.secrets.create(cmd.userId, cmd.body, requestContext());
  }

  @MessagePattern(secretsRpc.update.subject)
  onUpdate(@Payload() data: unknown): Promise<Secret> {
    const cmd = parseOrThrow(secretsRpc.update.request, data);
    return this.secrets.update(cmd.userId, cmd.name, cmd.body, requestContext());
  }

  @MessagePattern(secretsRpc.delete.subject)
  onDelete(@Payload() data: unknown): Promise<{ deleted: true }> {
    const cmd = parseOrThrow(secretsRpc.delete.request, data);
    return this.secrets.delete(cmd.userId, cmd.name, requestContext());
  }

  @MessagePattern(secretsRpc.list.subject)
  onList(@Payload() data: unknown): Promise<SecretList> {
    return this.secrets.list(parseOrThrow(secretsRpc.list.request, data).userId);
  }

  @MessagePattern(secretsRpc.findMissing.subject)
  onFindMissing(@Payload() data: unknown): Promise<{ missing: string[] }> {
    const query = parseOrThrow(secretsRpc.findMissing.request, data);
    return this.secrets.findMissing(query.userId, query.names);
  }

  @MessagePattern(secretsRpc.resolve.subject)
  onResolve(@Payload() data: unknown): Promise<TaskSecrets> {
    return this.secrets.resolve(parseOrThrow(secretsRpc.resolve.request, data), requestContext());
  }
}
