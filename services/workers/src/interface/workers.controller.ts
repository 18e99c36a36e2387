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
  rpcCatalog,
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

/** Subjects and request schemas from the catalog, shared with the gateway's calls. */
const workersRpc = rpcCatalog.workers;

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

  @MessagePattern(workersRpc.createRegistrationToken.subject)
  onCreateRegistrationToken(@Payload() data: unknown): Promise<RegistrationToken> {
    return this.createToken.execute(parseOrThrow(workersRpc.createRegistrationToken.request, data));
  }

  @MessagePattern(workersRpc.register.subject)
  onRegister(@Payload() data: unknown): Promise<WorkerRegistration> {
    return this.register.execute(parseOrThrow(workersRpc.register.request, data).body, requestContext());
  }

  @MessagePattern(workersRpc.authenticate.subject)
  onAuthenticate(@Payload() data: unknown): Promise<{ workerId: string }> {
    return this.authenticate.execute(parseOrThrow(workersRpc.authenticate.request, data).credential);
  }

  /** HTTP heartbeat path: 403 when the heartbeat names another worker, 404 for an unknown one, 401 once revoked. */
  @MessagePattern(workersRpc.heartbeat.subject)
  async onRecordHeartbeat(@Payload() data: unknown): Promise<{ recorded: true }> {
    const { workerId, heartbeat } = parseOrThrow(workersRpc.heartbeat.request, data);
    if (heartbeat.workerId !== workerId)
      throw new DomainError('FORBIDDEN', `heartbeat.workerId ${heartbeat.workerId} is not the authenticated worker ${workerId}`);
    const outcome = await this.heartbeat.execute(heartbeat, requestContext());
    if (outcome === 'unknown-worker') throw new DomainError('NOT_FOUND', `worker ${workerId} not found`);
    if (outcome === 'revoked') throw new DomainError('UNAUTHENTICATED', 'worker credential was revoked: register the worker again');
    return { recorded: true };
  }

  /** A worker's NATS credentials: 404 for an unknown worker, 401 once revoked, all null without NATS auth. */
  @MessagePattern(workersRpc.issueNatsCredentials.subject)
  onIssueNatsCredentials(@Payload() data: unknown): Promise<WorkerNatsCredentials> {
    return this.natsCredentials.execute(parseOrThrow(workersRpc.issueNatsCredentials.request, data).workerId);
  }

  @MessagePattern(workersRpc.drain.subject)
  onDrain(@Payload() data: unknown): Promise<WorkerView> {
    const { actor, workerId } = parseOrThrow(workersRpc.drain.request, data);
    return this.drained.execute(actor.userId, workerId, true, requestContext());
  }

  @MessagePattern(workersRpc.resume.subject)
  onResume(@Payload() data: unknown): Promise<WorkerView> {
    const { actor, workerId } = parseOrThrow(workersRpc.resume.request, data);
    return this.drained.execute(actor.userId, workerId, false, requestContext());
  }

  @MessagePattern(workersRpc.grantRole.subject)
  onGrantRole(@Payload() data: unknown): Promise<WorkerView> {
    const { actor, workerId, userId, role } = parseOrThrow(workersRpc.grantRole.request, data);
    return this.grantRole.execute(actor.userId, workerId, { userId, role }, requestContext());
  }

  @MessagePattern(workersRpc.revokeCredential.subject)
  onRevokeCredential(@Payload() data: unknown): Promise<WorkerView> {
    const { actor, workerId } = parseOrThrow(workersRpc.revokeCredential.request, data);
    return this.revokeCredential.execute(actor.userId, workerId, requestContext());
  }

  @MessagePattern(workersRpc.get.subject)
  onGet(@Payload() data: unknown): Promise<WorkerView> {
    const { actor, workerId } = parseOrThrow(workersRpc.get.request, data);
    return this.getWorker.execute(actor.userId, workerId);
  }

  @MessagePattern(workersRpc.list.subject)
  onList(@Payload() data: unknown): Promise<{ items: WorkerView[] }> {
    return this.listWorkers.execute(parseOrThrow(workersRpc.list.request, data).actor.userId);
  }
}
