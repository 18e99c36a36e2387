/**
 * Auth's NATS endpoints for user secrets. Thin: validate the payload again (the edge is not the
 * only caller), call one handler. Only the gateway sends these; `resolve` only after the tasks
 * service confirmed the asking worker holds the task's current attempt.
 */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  createSecretCommandSchema,
  findMissingSecretsQuerySchema,
  listSecretsQuerySchema,
  parseOrThrow,
  resolveSecretsQuerySchema,
  secretRefCommandSchema,
  secretSubjects,
  updateSecretCommandSchema,
  type Secret,
  type SecretList,
  type TaskSecrets,
} from '@agentyard/contracts';
import { requestContext } from './request-context';
import { SecretsHandler } from '../application/secrets.handler';

@Controller()
export class SecretsController {
  constructor(private readonly secrets: SecretsHandler) {}

  @MessagePattern(secretSubjects.create)
  onCreate(@Payload() data: unknown): Promise<Secret> {
    const cmd = parseOrThrow(createSecretCommandSchema, data);
    return this.secrets.create(cmd.userId, cmd.body, requestContext());
  }

  @MessagePattern(secretSubjects.update)
  onUpdate(@Payload() data: unknown): Promise<Secret> {
    const cmd = parseOrThrow(updateSecretCommandSchema, data);
    return this.secrets.update(cmd.userId, cmd.name, cmd.body, requestContext());
  }

  @MessagePattern(secretSubjects.delete)
  onDelete(@Payload() data: unknown): Promise<{ deleted: true }> {
    const cmd = parseOrThrow(secretRefCommandSchema, data);
    return this.secrets.delete(cmd.userId, cmd.name, requestContext());
  }

  @MessagePattern(secretSubjects.list)
  onList(@Payload() data: unknown): Promise<SecretList> {
    return this.secrets.list(parseOrThrow(listSecretsQuerySchema, data).userId);
  }

  @MessagePattern(secretSubjects.findMissing)
  onFindMissing(@Payload() data: unknown): Promise<{ missing: string[] }> {
    const query = parseOrThrow(findMissingSecretsQuerySchema, data);
    return this.secrets.findMissing(query.userId, query.names);
  }

  @MessagePattern(secretSubjects.resolve)
  onResolve(@Payload() data: unknown): Promise<TaskSecrets> {
    return this.secrets.resolve(parseOrThrow(resolveSecretsQuerySchema, data), requestContext());
  }
}
