/** Logs and artifacts over NATS request/reply (artifact.schemas.ts). Thin: validate, call one handler or query. */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  artifactSubjects,
  artifactUploadRefSchema,
  beginArtifactUploadSchema,
  getArtifactQuerySchema,
  listArtifactsQuerySchema,
  parseOrThrow,
  putArtifactChunkSchema,
  readArtifactChunkQuerySchema,
  type ArtifactChunk,
  type ArtifactDescriptor,
  type ArtifactList,
  type ArtifactUploaded,
  type ArtifactUploadStarted,
} from '@agentyard/contracts';
import { ArtifactQueries } from '../application/artifact.query';
import { ArtifactUploadHandler } from '../application/artifact-upload.handler';

@Controller()
export class ArtifactController {
  constructor(
    private readonly uploads: ArtifactUploadHandler,
    private readonly queries: ArtifactQueries,
  ) {}

  @MessagePattern(artifactSubjects.beginUpload)
  onBegin(@Payload() data: unknown): Promise<ArtifactUploadStarted> {
    return this.uploads.begin(parseOrThrow(beginArtifactUploadSchema, data, 'begin-artifact-upload command'));
  }

  @MessagePattern(artifactSubjects.putChunk)
  onPutChunk(@Payload() data: unknown): Promise<{ ok: true }> {
    return this.uploads.putChunk(parseOrThrow(putArtifactChunkSchema, data, 'put-artifact-chunk command'));
  }

  @MessagePattern(artifactSubjects.commitUpload)
  onCommit(@Payload() data: unknown): Promise<ArtifactUploaded> {
    const { workerId, uploadId } = parseOrThrow(artifactUploadRefSchema, data, 'commit-artifact-upload command');
    return this.uploads.commit(workerId, uploadId);
  }

  @MessagePattern(artifactSubjects.abortUpload)
  onAbort(@Payload() data: unknown): Promise<{ ok: true }> {
    const { workerId, uploadId } = parseOrThrow(artifactUploadRefSchema, data, 'abort-artifact-upload command');
    return this.uploads.abort(workerId, uploadId);
  }

  @MessagePattern(artifactSubjects.list)
  onList(@Payload() data: unknown): Promise<ArtifactList> {
    const { actor, taskId } = parseOrThrow(listArtifactsQuerySchema, data, 'list-artifacts query');
    return this.queries.list(actor, taskId);
  }

  @MessagePattern(artifactSubjects.get)
  onGet(@Payload() data: unknown): Promise<ArtifactDescriptor> {
    return this.queries.get(parseOrThrow(getArtifactQuerySchema, data, 'get-artifact query'));
  }

  @MessagePattern(artifactSubjects.readChunk)
  onReadChunk(@Payload() data: unknown): Promise<ArtifactChunk> {
    return this.queries.readChunk(parseOrThrow(readArtifactChunkQuerySchema, data, 'read-artifact-chunk query'));
  }
}
