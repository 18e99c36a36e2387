/*
 * ListArtifacts, GetArtifact and ReadArtifactChunk: the owner's view of a task's logs and
 * artifacts, with exactly the rule of GetTask (get-task.query.ts): read from the task's stream;
 * an absent, deleted or someone else's task is NOT_FOUND ("no such task"), never FORBIDDEN, so
 * its existence does not leak. A download reads the descriptor once, then chunk by chunk by the
 * stored bytes' id: a replacement mid-download ends it instead of mixing two versions.
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  DomainError,
  reservedArtifactNames,
  type Artifact,
  type ArtifactChunk,
  type ArtifactDescriptor,
  type ArtifactList,
  type GetArtifactQuery,
  type ReadArtifactChunkQuery,
} from '@agentyard/contracts';
import type { Actor } from '../domain/task.decide';
import { taskNotFound } from '../domain/task.errors';
import { ARTIFACT_STORE, type ArtifactStore, type StoredArtifact } from './artifact-store.port';
import { TaskCommandRunner } from './task-command.runner';

const toArtifact = (a: StoredArtifact): Artifact => ({
  name: a.name,
  attempt: a.attempt,
  bytes: a.bytes,
  sha256: a.sha256,
  contentType: a.contentType,
  createdAt: a.createdAt.toISOString(),
});

@Injectable()
export class ArtifactQueries {
  constructor(
    private readonly commands: TaskCommandRunner,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
  ) {}

  async list(actor: Actor, taskId: string): Promise<ArtifactList> {
    await this.assertOwned(actor, taskId);
    return { items: (await this.store.list(taskId)).map(toArtifact) };
  }

  async get(query: GetArtifactQuery): Promise<ArtifactDescriptor> {
    await this.assertOwned(query.actor, query.taskId);
    const found = await this.store.find(query.taskId, query.name, query.attempt);
    if (!found) throw await this.noSuchArtifact(query);
    return { ...toArtifact(found), artifactId: found.artifactId, chunks: found.chunks };
  }

  async readChunk(query: ReadArtifactChunkQuery): Promise<ArtifactChunk> {
    await this.assertOwned(query.actor, query.taskId);
    const data = await this.store.readChunk({ taskId: query.taskId, artifactId: query.artifactId }, query.seq);
    if (!data) throw new DomainError('NOT_FOUND', 'that artifact was replaced or deleted during the download; download it again');
    return { data: data.toString('base64') };
  }

  private async assertOwned(actor: Actor, taskId: string): Promise<void> {
    const { state } = await this.commands.load(taskId);
    if (!state.exists || state.deleted || state.ownerId !== actor.userId) throw taskNotFound();
  }

  /** A 404 a person can act on: what the task does have, by attempt. */
  private async noSuchArtifact(query: GetArtifactQuery): Promise<DomainError> {
    const stored = await this.store.list(query.taskId);
    const byAttempt = new Map<number, string[]>();
    for (const a of stored) byAttempt.set(a.attempt, [...(byAttempt.get(a.attempt) ?? []), a.name]);
    const what = [...byAttempt].map(([attempt, names]) => `attempt ${attempt}: ${names.join(', ')}`).join('; ') || 'none';
    const where = query.attempt === undefined ? '' : ` for attempt ${query.attempt}`;
    if (query.name === reservedArtifactNames.log) {
      return new DomainError('NOT_FOUND', `no full log stored for this task${where} yet: it is uploaded when an attempt ends (stored: ${what})`, {
        storedAttempts: [...byAttempt.keys()],
      });
    }
    return new DomainError('NOT_FOUND', `task ${query.taskId} has no artifact named ${query.name}${where} (its attempts stored: ${what})`, {
      storedAttempts: [...byAttempt.keys()],
    });
  }
}
