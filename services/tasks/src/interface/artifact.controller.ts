/** Logs and artifacts over NATS request/reply (artifact.schemas.ts). Thin: validate, call one handler or query. */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  parseOrThrow,
  rpcCatalog,
  type ArtifactChunk,
  type ArtifactDescriptor,
  type ArtifactList,
  type ArtifactUploaded,
  type ArtifactUploadStarted,
} from '@agentyard/contracts';
import { ArtifactQueries } from '../application/artifact.query';
import { ArtifactUploadHandler } from '../application/artifact-upload.handler';

/** Subjects and request schemas from the catalog, shared with the gateway's calls. */
const artifactsRpc = rpcCatalog.artifacts;

@Controller()
export class ArtifactController {
  constructor(
    private readonly uploads: ArtifactUploadHandler,
    private readonly queries: ArtifactQueries,
  ) {}

  @MessagePattern(artifactsRpc.beginUpload.subject)
  onBegin(@Payload() data: unknown): Promise<ArtifactUploadStarted> {
    return this.uploads.begin(parseOrThrow(artifactsRpc.beginUpload.request, data, 'begin-artifact-upload command'));
  }

  @MessagePattern(artifactsRpc.putChunk.subject)
  onPutChunk(@Payload() data: unknown): Promise<{ ok: true }> {
    return this.uploads.putChunk(parseOrThrow(artifactsRpc.putChunk.request, data, 'put-artifact-chunk command'));
  }

  @MessagePattern(artifactsRpc.commitUpload.subject)
  onCommit(@Payload() data: unknown): Promise<ArtifactUploaded> {
    const { workerId, uploadId } = parseOrThrow(artifactsRpc.commitUpload.request, data, 'commit-artifact-upload command');
    return this.uploads.commit(workerId, uploadId);
  }

  @MessagePattern(artifactsRpc.put.subject)
  onPut(@Payload() data: unknown): Promise<ArtifactUploaded> {
    return this.uploads.put(parseOrThrow(artifactsRpc.put.request, data, 'put-artifact command'));
  }

  @MessagePattern(artifactsRpc.abortUpload.subject)
  onAbort(@Payload() data: unknown): Promise<{ ok: true }> {
    const { workerId, uploadId } = parseOrThrow(artifactsRpc.abortUpload.request, data, 'abort-artifact-upload command');
    return this.uploads.abort(workerId, uploadId);
  }

  @MessagePattern(artifactsRpc.list.subject)
  onList(@Payload() data: unknown): Promise<ArtifactList> {
    const { actor, taskId } = parseOrThrow(artifactsRpc.list.request, data, 'list-artifacts query');
    return this.queries.list(actor, taskId);
  }

  @MessagePattern(artifactsRpc.get.subject)
  onGet(@Payload() data: unknown): Promise<ArtifactDescriptor> {
    return this.queries.get(parseOrThrow(artifactsRpc.get.request, data, 'get-artifact query'));
  }

  @MessagePattern(artifactsRpc.readChunk.subject)
  onReadChunk(@Payload() data: unknown): Promise<ArtifactChunk> {
    return this.queries.readChunk(parseOrThrow(artifactsRpc.readChunk.request, data, 'read-artifact-chunk query'));
  }
}
