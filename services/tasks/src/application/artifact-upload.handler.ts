/*
 * Uploads of an attempt's log and artifacts, in the steps the gateway drives over NATS (messages
 * are capped at 1 MiB): begin (fenced, quota), chunks in order, commit (checked, fenced again),
 * or abort — or, for one that fits a message, put (fenced, quota, checked and stored at once).
 * The fence reads the task's stream, never task_view, so it is as current as the one that judges
 * the worker's reports: only the worker holding the task's current attempt, while it
 * is assigned or running (task-secret-access.ts). Commit fences again: a worker that lost the
 * task while its bytes were on the way stores nothing.
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  artifactContentType,
  DomainError,
  newId,
  type ArtifactUploaded,
  type ArtifactUploadStarted,
  type BeginArtifactUpload,
  type PutArtifact,
  type PutArtifactChunk,
} from '@agentyard/contracts';
import { uploadAllowance } from '../domain/artifact-quota';
import { artifactUploadAccess } from '../domain/task-secret-access';
import { ARTIFACT_SETTINGS, type ArtifactSettings } from './artifact.settings';
import { ARTIFACT_STORE, type ArtifactStore, type CommitOutcome, type PendingUpload, type StoredArtifact } from './artifact-store.port';
import { TaskCommandRunner } from './task-command.runner';

const noSuchUpload = (): DomainError => new DomainError('NOT_FOUND', 'no such upload under way (it was committed, aborted or abandoned)');

@Injectable()
export class ArtifactUploadHandler {
  constructor(
    private readonly commands: TaskCommandRunner,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(ARTIFACT_SETTINGS) private readonly settings: ArtifactSettings,
  ) {}

  async begin(request: BeginArtifactUpload): Promise<ArtifactUploadStarted> {
    await this.fence(request.workerId, request.taskId, request.attempt);
    const maxBytes = await this.allowance(request.taskId, request.attempt, request.name, request.bytes);
    const upload = pendingOf(request, maxBytes);
    await this.store.beginUpload(upload);
    return { uploadId: upload.uploadId, chunkBytes: this.settings.chunkBytes, maxBytes };
  }

  async putChunk(request: PutArtifactChunk): Promise<{ ok: true }> {
    const upload = await this.ownUpload(request.workerId, request.uploadId);
    const data = Buffer.from(request.data, 'base64');
    if (data.length === 0 || data.length > this.settings.chunkBytes) {
      throw new DomainError('VALIDATION_FAILED', `a chunk holds 1 to ${this.settings.chunkBytes} bytes; this one ${data.length}`);
    }
    // Every chunk but the last is full, so this bounds what the upload holds before commit counts it.
    if (request.seq * this.settings.chunkBytes + data.length > upload.maxBytes) {
      throw new DomainError('PAYLOAD_TOO_LARGE', `this upload may hold at most ${upload.maxBytes} bytes`, { maxBytes: upload.maxBytes });
    }
    await this.store.putChunk(upload, request.seq, data);
    return { ok: true };
  }

  async commit(workerId: string, uploadId: string): Promise<ArtifactUploaded> {
    const upload = await this.ownUpload(workerId, uploadId);
    try {
      await this.fence(workerId, upload.taskId, upload.attempt);
    } catch (error) {
      await this.store.abortUpload(uploadId);
      throw error;
    }
    // The quota again, without the declared size: other uploads of the attempt may have landed since it began.
    const maxBytes = await this.allowance(upload.taskId, upload.attempt, upload.name, undefined, uploadId);
    const outcome = await this.store.commitUpload(uploadId, new Date(), Math.min(maxBytes, upload.maxBytes));
    if (outcome.committed) return storedAs(outcome.artifact);
    await this.store.abortUpload(uploadId);
    throw refusalOf(outcome, upload, Math.min(maxBytes, upload.maxBytes));
  }

  /**
   * A whole artifact in one message (at most artifactLimits.chunkBytes): the fence and the quota
   * once, then stored and checked in one step — the same rules as begin, chunks and commit.
   */
  async put(request: PutArtifact): Promise<ArtifactUploaded> {
    const data = Buffer.from(request.data, 'base64');
    await this.fence(request.workerId, request.taskId, request.attempt);
    const maxBytes = await this.allowance(request.taskId, request.attempt, request.name, data.length);
    const upload = pendingOf(request, maxBytes);
    const outcome = await this.store.storeWhole(upload, data, this.settings.chunkBytes, upload.startedAt);
    if (outcome.committed) return storedAs(outcome.artifact);
    throw refusalOf(outcome, upload, maxBytes);
  }

  async abort(workerId: string, uploadId: string): Promise<{ ok: true }> {
    const upload = await this.store.pendingUpload(uploadId);
    if (upload && upload.workerId === workerId) await this.store.abortUpload(uploadId);
    return { ok: true };
  }

  private async fence(workerId: string, taskId: string, attempt: number): Promise<void> {
    const { state } = await this.commands.load(taskId);
    const access = artifactUploadAccess(state, workerId, attempt);
    if (!access.granted) throw new DomainError(access.code, access.reason);
  }

  /** The most bytes the upload may have, or the quota's refusal. */
  private async allowance(taskId: string, attempt: number, name: string, bytes: number | undefined, abortOnRefusal?: string): Promise<number> {
    const stored = (await this.store.list(taskId)).filter((a) => a.attempt === attempt);
    const allowance = uploadAllowance(stored, name, bytes, this.settings.quota);
    if (!allowance.allowed) {
      if (abortOnRefusal) await this.store.abortUpload(abortOnRefusal);
      throw new DomainError(allowance.code, allowance.reason, allowance.details);
    }
    return allowance.maxBytes;
  }

  /** The upload, when it is unfinished and this worker's; another worker's is as absent as a made-up one. */
  private async ownUpload(workerId: string, uploadId: string): Promise<PendingUpload> {
    const upload = await this.store.pendingUpload(uploadId);
    if (!upload || upload.workerId !== workerId) throw noSuchUpload();
    return upload;
  }
}

/** A new upload of what `request` declares, allowed `maxBytes`. */
function pendingOf(request: BeginArtifactUpload, maxBytes: number): PendingUpload {
  return {
    uploadId: newId(),
    taskId: request.taskId,
    attempt: request.attempt,
    name: request.name,
    workerId: request.workerId,
    sha256: request.sha256,
    declaredBytes: request.bytes ?? null,
    maxBytes,
    contentType: artifactContentType(request.name),
    startedAt: new Date(),
  };
}

const storedAs = ({ name, attempt, bytes, sha256 }: StoredArtifact): ArtifactUploaded => ({ name, attempt, bytes, sha256 });

/** Why a store refused an upload, as the 4xx its client reads; `maxBytes` is what the attempt could still store. */
function refusalOf(outcome: Exclude<CommitOutcome, { committed: true }>, upload: PendingUpload, maxBytes: number): DomainError {
  switch (outcome.reason) {
    case 'no-such-upload':
      return noSuchUpload();
    case 'missing-chunk':
      return new DomainError('VALIDATION_FAILED', `the upload is missing chunk ${outcome.seq}`);
    case 'size-mismatch':
      return new DomainError(
        'VALIDATION_FAILED',
        upload.declaredBytes !== null && outcome.bytes !== upload.declaredBytes
          ? `the body was ${outcome.bytes} bytes, not the ${upload.declaredBytes} declared; nothing was stored`
          : `the body was ${outcome.bytes} bytes, more than the ${maxBytes} this attempt may still store; nothing was stored`,
        { bytes: outcome.bytes },
      );
    case 'sha256-mismatch':
      return new DomainError(
        'VALIDATION_FAILED',
        `the body's SHA-256 is ${outcome.sha256}, not the ${upload.sha256} declared in x-content-sha256; nothing was stored`,
        { sha256: outcome.sha256 },
      );
  }
}
