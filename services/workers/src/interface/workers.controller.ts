/**
 * The workers service's NATS request/reply endpoints. Thin: validate the payload (the gateway
 * is not the only caller), build the request context from the trace, call one handler.
 */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  DomainError,
  newId,
  parseOrThrow,
  type RegistrationToken,
  type WorkerNatsCredentials,
  type WorkerRegistration,
  type WorkerView,
} from '@agentyard/contracts';
import { currentTrace } from '@agentyard/messaging';
import { AuthenticateWorkerQuery } from '../application/authenticate-worker.query';
import { CreateRegistrationTokenHandler } from '../application/create-registration-token.handler';
import { GetWorkerQuery } from '../application/get-worker.query';
import { ListWorkersQuery } from '../application/list-workers.query';
import { GrantWorkerRoleHandler, RevokeWorkerCredentialHandler, SetWorkerDrainedHandler } from '../application/manage-worker.handlers';
import { IssueNatsCredentialsHandler } from '../application/issue-nats-credentials.handler';
import { RecordHeartbeatHandler } from '../application/record-heartbeat.handler';
import { RegisterWorkerHandler } from '../application/register-worker.handler';
import type { RequestContext } from '../application/request-context';
import {
  authenticateWorkerQuerySchema,
  createRegistrationTokenCommandSchema,
  grantWorkerRoleCommandSchema,
  issueNatsCredentialsCommandSchema,
  listWorkersQuerySchema,
  recordHeartbeatCommandSchema,
  registerWorkerCommandSchema,
  servedSubjects,
  workerRefCommandSchema,
} from './worker.messages';

export function requestContext(): RequestContext {
  const trace = currentTrace();
  return trace ? { correlationId: trace.traceId, traceparent: trace.traceparent } : { correlationId: newId() };
}

@Controller()
export class WorkersController {
  constructor(
    private readonly createToken: CreateRegistrationTokenHandler,
    private readonly register: RegisterWorkerHandler,
    private readonly authenticate: AuthenticateWorkerQuery,
    private readonly heartbeat: RecordHeartbeatHandler,
    private readonly natsCredentials: IssueNatsCredentialsHandler,
    private readonly drained: SetWorkerDrainedHandler,
    private readonly grantRole: GrantWorkerRoleHandler,
    private readonly revokeCredential: RevokeWorkerCredentialHandler,
    private readonly getWorker: GetWorkerQuery,
    private readonly listWorkers: ListWorkersQuery,
  ) {}

  @MessagePattern(servedSubjects.createRegistrationToken)
  onCreateRegistrationToken(@Payload() data: unknown): Promise<RegistrationToken> {
    return this.createToken.execute(parseOrThrow(createRegistrationTokenCommandSchema, data));
  }

  @MessagePattern(servedSubjects.register)
  onRegister(@Payload() data: unknown): Promise<WorkerRegistration> {
    return this.register.execute(parseOrThrow(registerWorkerCommandSchema, data).body, requestContext());
  }

  @MessagePattern(servedSubjects.authenticate)
  onAuthenticate(@Payload() data: unknown): Promise<{ workerId: string }> {
    return this.authenticate.execute(parseOrThrow(authenticateWorkerQuerySchema, data).credential);
  }

  /** HTTP heartbeat path: 403 when the heartbeat names another worker, 404 for an unknown one, 401 once revoked. */
  @MessagePattern(servedSubjects.heartbeat)
  async onRecordHeartbeat(@Payload() data: unknown): Promise<{ recorded: true }> {
    const { workerId, heartbeat } = parseOrThrow(recordHeartbeatCommandSchema, data);
    if (heartbeat.workerId !== workerId)
      throw new DomainError('FORBIDDEN', `heartbeat.workerId ${heartbeat.workerId} is not the authenticated worker ${workerId}`);
    const outcome = await this.heartbeat.execute(heartbeat, requestContext());
    if (outcome === 'unknown-worker') throw new DomainError('NOT_FOUND', `worker ${workerId} not found`);
    if (outcome === 'revoked') throw new DomainError('UNAUTHENTICATED', 'worker credential was revoked: register the worker again');
    return { recorded: true };
  }

  /** A worker's NATS credentials: 404 for an unknown worker, 401 once revoked, all null without NATS auth. */
  @MessagePattern(servedSubjects.issueNatsCredentials)
  onIssueNatsCredentials(@Payload() data: unknown): Promise<WorkerNatsCredentials> {
    return this.natsCredentials.execute(parseOrThrow(issueNatsCredentialsCommandSchema, data).workerId);
  }

  @MessagePattern(servedSubjects.drain)
  onDrain(@Payload() data: unknown): Promise<WorkerView> {
    const { actor, workerId } = parseOrThrow(workerRefCommandSchema, data);
    return this.drained.execute(actor.userId, workerId, true, requestContext());
  }

  @MessagePattern(servedSubjects.resume)
  onResume(@Payload() data: unknown): Promise<WorkerView> {
    const { actor, workerId } = parseOrThrow(workerRefCommandSchema, data);
    return this.drained.execute(actor.userId, workerId, false, requestContext());
  }

  @MessagePattern(servedSubjects.grantRole)
  onGrantRole(@Payload() data: unknown): Promise<WorkerView> {
    const { actor, workerId, userId, role } = parseOrThrow(grantWorkerRoleCommandSchema, data);
    return this.grantRole.execute(actor.userId, workerId, { userId, role }, requestContext());
  }

  @MessagePattern(servedSubjects.revokeCredential)
  onRevokeCredential(@Payload() data: unknown): Promise<WorkerView> {
    const { actor, workerId } = parseOrThrow(workerRefCommandSchema, data);
    return this.revokeCredential.execute(actor.userId, workerId, requestContext());
  }

  @MessagePattern(servedSubjects.get)
  onGet(@Payload() data: unknown): Promise<WorkerView> {
    const { actor, workerId } = parseOrThrow(workerRefCommandSchema, data);
    return this.getWorker.execute(actor.userId, workerId);
  }

  @MessagePattern(servedSubjects.list)
  onList(@Payload() data: unknown): Promise<{ items: WorkerView[] }> {
    return this.listWorkers.execute(parseOrThrow(listWorkersQuerySchema, data).actor.userId);
  }
}
