/*
 * Moves an artifact's bytes between HTTP and the tasks service, which owns them. NATS messages
 * are capped at 1 MiB, so an upload is streamed in chunks (begin → chunk 0, 1, … → commit) and a
 * download is read back chunk by chunk; a body declared to fit one chunk (an attempt's log,
 * usually) goes in one `put`. The gateway holds at most one chunk (512 KiB) plus what
 * the socket delivered since, never a whole artifact: the request body is read only as fast as
 * the tasks service stores it. An upload that fails half way (client gone, too large, a
 * refused chunk) is aborted, so nothing of it stays behind.
 */
import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { artifactLimits, DomainError, rpcCatalog, type ArtifactDescriptor, type ArtifactList, type ArtifactUploaded } from '@agentyard/contracts';
import { NatsRpcClient } from '@agentyard/messaging';

const artifactsRpc = rpcCatalog.artifacts;

export interface UploadRequest {
  workerId: string;
  taskId: string;
  attempt: number;
  name: string;
  sha256: string;
  /** Content-Length, when the client sent one. */
  bytes: number | undefined;
}

/**
 * How long a commit may take: checking 64 MiB reads every chunk back, more than an ordinary
 * request's 5 s, so 5 s plus 1 s per MiB (at most 60 s). One flat 60 s made a small upload whose
 * commit reached a tasks process that then died wait a minute for nothing — and the agent's
 * `finished` report waits for its log's upload, so the task stayed `running` that long (crash
 * matrix, rows tasks and nats-server).
 */
export function commitTimeoutMs(bytes: number): number {
  return Math.min(60_000, 5_000 + Math.ceil(bytes / (1 << 20)) * 1_000);
}

export const tooLarge = (maxBytes: number): DomainError =>
  new DomainError('PAYLOAD_TOO_LARGE', `an artifact may be at most ${maxBytes} bytes here; nothing was stored`, { maxBytes });

@Injectable()
export class ArtifactTransfer {
  constructor(@Inject(NatsRpcClient) private readonly rpc: NatsRpcClient) {}

  /**
   * Streams `body` to the tasks service; at most `maxBytes` (the edge's own limit) get through. A
   * body whose declared size fits one message goes whole, in one request.
   */
  async upload(request: UploadRequest, body: AsyncIterable<Buffer>, maxBytes: number): Promise<ArtifactUploaded> {
    if (request.bytes !== undefined && request.bytes > maxBytes) throw tooLarge(maxBytes);
    if (request.bytes !== undefined && request.bytes <= artifactLimits.chunkBytes) return this.uploadWhole(request, request.bytes, body);
    const started = await this.rpc.call(artifactsRpc.beginUpload, request);
    const ref = { workerId: request.workerId, uploadId: started.uploadId };
    const limit = Math.min(maxBytes, started.maxBytes);
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let total = 0;
      let seq = 0;
      const send = async (chunk: Buffer) => {
        await this.rpc.call(artifactsRpc.putChunk, { ...ref, seq, data: chunk.toString('base64') });
        seq += 1;
      };
      for await (const piece of body) {
        total += piece.length;
        if (total > limit) throw limit < maxBytes ? quotaLeft(limit) : tooLarge(maxBytes);
        pending.push(piece);
        pendingBytes += piece.length;
        while (pendingBytes >= started.chunkBytes) {
          const joined = Buffer.concat(pending, pendingBytes);
          await send(joined.subarray(0, started.chunkBytes));
          const rest = joined.subarray(started.chunkBytes);
          pending = rest.length > 0 ? [Buffer.from(rest)] : [];
          pendingBytes = rest.length;
        }
      }
      if (pendingBytes > 0) await send(Buffer.concat(pending, pendingBytes));
      return await this.rpc.call(artifactsRpc.commitUpload, ref, { timeoutMs: commitTimeoutMs(total) });
    } catch (error) {
      // Committed or not, an unfinished upload is dropped (abort ignores a committed one).
      await this.rpc.call(artifactsRpc.abortUpload, ref).catch(() => undefined);
      throw error;
    }
  }

  /** A body of at most one message's size: read whole (never more than declared), then one `put`. */
  private async uploadWhole(request: UploadRequest, declared: number, body: AsyncIterable<Buffer>): Promise<ArtifactUploaded> {
    const pieces: Buffer[] = [];
    let total = 0;
    for await (const piece of body) {
      total += piece.length;
      if (total > declared)
        throw new DomainError('VALIDATION_FAILED', `the body is longer than the ${declared} bytes declared in Content-Length; nothing was stored`);
      pieces.push(piece);
    }
    const data = Buffer.concat(pieces, total).toString('base64');
    return this.rpc.call(artifactsRpc.put, { ...request, data }, { timeoutMs: commitTimeoutMs(total) });
  }

  list(userId: string, taskId: string): Promise<ArtifactList> {
    return this.rpc.call(artifactsRpc.list, { actor: { userId }, taskId });
  }

  /** The artifact (newest attempt that has it, or `attempt`), answered before any byte is sent. */
  describe(userId: string, taskId: string, name: string, attempt: number | undefined): Promise<ArtifactDescriptor> {
    return this.rpc.call(artifactsRpc.get, { actor: { userId }, taskId, name, ...(attempt ? { attempt } : {}) });
  }

  /** The artifact's bytes as a stream, one chunk requested at a time as the client reads. */
  download(userId: string, taskId: string, artifact: ArtifactDescriptor): Readable {
    const rpc = this.rpc;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let seq = 0; seq < artifact.chunks; seq++) {
        const { data } = await rpc.call(artifactsRpc.readChunk, { actor: { userId }, taskId, artifactId: artifact.artifactId, seq });
        yield Buffer.from(data, 'base64');
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }
}

const quotaLeft = (limit: number): DomainError =>
  new DomainError('PAYLOAD_TOO_LARGE', `this attempt may store only ${limit} more bytes; nothing was stored`, { maxBytes: limit });
