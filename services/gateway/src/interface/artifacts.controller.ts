/*
 * Logs and artifacts of task attempts. Agents upload with their worker credential while they
 * hold the attempt (PUT …/attempts/{attempt}/artifacts/{name}, a raw `application/octet-stream`
 * body — the one route that takes a non-JSON body, see main.ts); owners list and download with
 * `tasks:read`, exactly like reading the task. Downloads are always attachments, never HTML: a
 * task's output is untrusted, and must not run in the dashboard's origin.
 */
import {
  Controller,
  Get,
  HttpCode,
  HttpException,
  Inject,
  Injectable,
  Param,
  Put,
  Query,
  Req,
  Res,
  StreamableFile,
  UseGuards,
  type PipeTransform,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import {
  artifactContentType,
  artifactNamePattern,
  artifactQuerySchema,
  artifactSha256Header,
  DomainError,
  reservedArtifactNames,
  type ArtifactList,
  type ArtifactQuery,
  type ArtifactUploaded,
} from '@agentyard/contracts';
import type { AccessClaims } from '@agentyard/service-kit';
import { ArtifactTransfer } from '../infrastructure/artifact-transfer';
import { AccessTokenGuard, Claims, RequireScope } from './access-token.guard';
import { TaskIdPipe, WorkerIdPipe } from './id.pipe';
import { WorkerCredentialGuard } from './worker-credential.guard';
import { ZodQueryPipe } from './zod-query.pipe';

/** Provider token: the largest artifact the edge lets through (ARTIFACT_MAX_BYTES). */
export const ARTIFACT_MAX_BYTES = Symbol('ARTIFACT_MAX_BYTES');

/** The upload route as Fastify registers it (main.ts lets only this route take a raw body). */
export const artifactUploadRoute = { method: 'PUT', url: '/api/v1/workers/:id/tasks/:taskId/attempts/:attempt/artifacts/:name' } as const;

const nameRule = 'an artifact name is 1–128 letters, digits, dots, dashes and underscores, not starting with a dot (no slashes)';

/** An upload's name: a bad one is a 400 that says what a name may be. */
@Injectable()
export class ArtifactNameToStorePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!artifactNamePattern.test(value)) throw new DomainError('VALIDATION_FAILED', nameRule, [{ field: 'name', message: nameRule }]);
    return value;
  }
}

/** A download's name: one no artifact can have cannot exist, a 404 without asking a service (like the id pipes). */
@Injectable()
export class ArtifactNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!artifactNamePattern.test(value)) throw new DomainError('NOT_FOUND', `no artifact can be named that: ${nameRule}`);
    return value;
  }
}

@Injectable()
export class AttemptPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^[1-9][0-9]{0,4}$/.test(value)) {
      throw new DomainError('VALIDATION_FAILED', 'the attempt is a whole number from 1', [{ field: 'attempt', message: 'a whole number from 1' }]);
    }
    return Number(value);
  }
}

/** The declared SHA-256 (any case), lowercased; a missing or malformed one is a 400. */
function declaredSha256(request: FastifyRequest): string {
  const value = request.headers[artifactSha256Header];
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{64}$/.test(value)) {
    throw new DomainError('VALIDATION_FAILED', `send ${artifactSha256Header}: the body's SHA-256 as 64 hex digits`, [
      { field: artifactSha256Header, message: '64 hex digits' },
    ]);
  }
  return value.toLowerCase();
}

/** The raw body, read as the tasks service takes it; never destroyed on an early stop, so a 413 can drain it. */
function rawBody(request: FastifyRequest): AsyncIterable<Buffer> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/octet-stream') {
    throw new HttpException({ error: 'UNSUPPORTED_MEDIA_TYPE', message: 'send the artifact as application/octet-stream' }, 415);
  }
  const body = request.body;
  return body instanceof Readable ? body.iterator({ destroyOnReturn: false }) : (async function* () {})();
}

const declaredLength = (request: FastifyRequest): number | undefined => {
  const value = request.headers['content-length'];
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
};

@Controller('api/v1/workers')
export class WorkerArtifactsController {
  constructor(
    private readonly transfer: ArtifactTransfer,
    @Inject(ARTIFACT_MAX_BYTES) private readonly maxBytes: number,
  ) {}

  /**
   * Stores an attempt's log or artifact; the agent must hold the attempt, assigned or running
   * (403 otherwise), so it uploads before it reports the attempt finished. The same name again
   * replaces it once the new one is whole.
   */
  @Put(':id/tasks/:taskId/attempts/:attempt/artifacts/:name')
  @HttpCode(201)
  @UseGuards(WorkerCredentialGuard)
  upload(
    @Param('id', WorkerIdPipe) workerId: string,
    @Param('taskId', TaskIdPipe) taskId: string,
    @Param('attempt', AttemptPipe) attempt: number,
    @Param('name', ArtifactNameToStorePipe) name: string,
    @Req() request: FastifyRequest,
  ): Promise<ArtifactUploaded> {
    const body = rawBody(request);
    const sha256 = declaredSha256(request);
    return this.transfer.upload({ workerId, taskId, attempt, name, sha256, bytes: declaredLength(request) }, body, this.maxBytes);
  }
}

@Controller('api/v1/tasks')
@UseGuards(AccessTokenGuard)
export class TaskArtifactsController {
  constructor(private readonly transfer: ArtifactTransfer) {}

  @RequireScope('tasks:read')
  @Get(':id/artifacts')
  list(@Claims() c: AccessClaims, @Param('id', TaskIdPipe) taskId: string): Promise<ArtifactList> {
    return this.transfer.list(c.sub, taskId);
  }

  @RequireScope('tasks:read')
  @Get(':id/artifacts/:name')
  download(
    @Claims() c: AccessClaims,
    @Param('id', TaskIdPipe) taskId: string,
    @Param('name', ArtifactNamePipe) name: string,
    @Query(new ZodQueryPipe(artifactQuerySchema)) query: ArtifactQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile> {
    return this.send(c.sub, taskId, name, query.attempt, reply);
  }

  /** The full log of the newest attempt that stored one (or `attempt`), as text. */
  @RequireScope('tasks:read')
  @Get(':id/logs')
  logs(
    @Claims() c: AccessClaims,
    @Param('id', TaskIdPipe) taskId: string,
    @Query(new ZodQueryPipe(artifactQuerySchema)) query: ArtifactQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile> {
    return this.send(c.sub, taskId, reservedArtifactNames.log, query.attempt, reply);
  }

  private async send(userId: string, taskId: string, name: string, attempt: number | undefined, reply: FastifyReply): Promise<StreamableFile> {
    const artifact = await this.transfer.describe(userId, taskId, name, attempt);
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('cache-control', 'private, no-store');
    void reply.header('etag', `"${artifact.sha256}"`);
    void reply.header('x-artifact-attempt', String(artifact.attempt));
    // The type comes from the name, never from what was stored or uploaded: text or bytes, never HTML.
    return new StreamableFile(this.transfer.download(userId, taskId, artifact), {
      type: artifactContentType(name),
      disposition: `attachment; filename="${name}"`,
      length: artifact.bytes,
    });
  }
}
