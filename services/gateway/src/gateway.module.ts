import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Logger } from 'pino';
import { AccessTokenVerifier, ServiceKitModule } from '@agentyard/service-kit';
import { NatsRpcClient } from '@agentyard/messaging';
import { CREATE_ADMISSION_SETTINGS, CreateAdmission } from './application/create-admission';
import type { AdmissionSettings } from './application/create-admission.decide';
import { RevocationMirrors } from './infrastructure/revocation-mirror';
import { ApiTokenResolver } from './infrastructure/api-token-resolver';
import { ArtifactTransfer } from './infrastructure/artifact-transfer';
import { TaskSecretBroker } from './infrastructure/task-secret-broker';
import { WorkerPackageStore } from './infrastructure/worker-package';
import { AccessTokenGuard } from './interface/access-token.guard';
import { ARTIFACT_MAX_BYTES, TaskArtifactsController, WorkerArtifactsController } from './interface/artifacts.controller';
import { AuthController } from './interface/auth.controller';
import { DownloadsController } from './interface/downloads.controller';
import { SecretsController } from './interface/secrets.controller';
import { TasksController } from './interface/tasks.controller';
import { UsageController } from './interface/usage.controller';
import { WorkerCredentialGuard } from './interface/worker-credential.guard';
import { WorkersController } from './interface/workers.controller';
import { RunsController, WorkflowsController, WorkflowTemplatesController } from './interface/workflows.controller';
import { HttpErrorFilter } from './interface/http-error.filter';

export interface GatewayDeps {
  logger: Logger;
  rpc: NatsRpcClient;
  verifier: AccessTokenVerifier;
  /** Shared with the WebSocket hub, so a revocation through this gateway reaches both at once. */
  apiTokens: ApiTokenResolver;
  /** The copies of the revocation buckets the verifier checks; the auth routes that revoke sync them. */
  revoked: RevocationMirrors;
  /** Largest artifact upload the edge lets through (ARTIFACT_MAX_BYTES). */
  artifactMaxBytes: number;
  /** Where the worker agent package is (DOWNLOADS_DIR), served at /downloads. */
  downloadsDir: string;
  /** The limit on task creations in flight (CREATE_* settings). */
  createAdmission: AdmissionSettings;
  onShutdown: () => Promise<void>;
}

@Module({})
export class GatewayModule {
  /** The gateway's Nest module, given its already-connected dependencies. */
  static forRoot(deps: GatewayDeps): DynamicModule {
    return {
      module: GatewayModule,
      // /metrics is served on the internal port only (main.ts), not on the public edge.
      imports: [ServiceKitModule.forRoot({ logger: deps.logger, onShutdown: deps.onShutdown, metricsRoute: false })],
      controllers: [
        AuthController,
        TasksController,
        WorkersController,
        WorkflowsController,
        RunsController,
        WorkflowTemplatesController,
        SecretsController,
        UsageController,
        WorkerArtifactsController,
        TaskArtifactsController,
        DownloadsController,
      ],
      providers: [
        { provide: NatsRpcClient, useValue: deps.rpc },
        { provide: AccessTokenVerifier, useValue: deps.verifier },
        { provide: ApiTokenResolver, useValue: deps.apiTokens },
        { provide: RevocationMirrors, useValue: deps.revoked },
        AccessTokenGuard,
        WorkerCredentialGuard,
        TaskSecretBroker,
        ArtifactTransfer,
        { provide: CREATE_ADMISSION_SETTINGS, useValue: deps.createAdmission },
        CreateAdmission,
        { provide: WorkerPackageStore, useValue: new WorkerPackageStore(deps.downloadsDir) },
        { provide: ARTIFACT_MAX_BYTES, useValue: deps.artifactMaxBytes },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
