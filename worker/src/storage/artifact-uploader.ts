/*
 * Uploads an attempt's log and artifacts to the platform over HTTP (NATS messages are capped at
 * 1 MiB): `PUT /api/v1/workers/{id}/tasks/{taskId}/attempts/{attempt}/artifacts/{name}`, raw
 * bytes with their SHA-256, with this worker's credential. The platform takes them only while
 * this worker holds that attempt, so uploads happen before the `finished` report. A refusal
 * (4xx) is final; a platform that cannot be reached is retried a few times within a bounded
 * time. Either way the attempt's result still goes out: it lists only what was stored.
 */
import { createHash } from 'node:crypto';
import { artifactSha256Header, artifactUploadPath, type TaskResult } from '@agentyard/contracts/agent';
import { describeError, type Logger } from '../logging/logger';
import { abortableSleep } from '../system/abortable-sleep';
import { requestJson } from '../system/http-json';

export type StoredArtifact = NonNullable<TaskResult['artifacts']>[number];

export interface ArtifactSink {
  /** Resolves with what was stored, or undefined when it could not be (logged). Never rejects. */
  upload(task: { taskId: string; attempt: number }, name: string, bytes: Buffer): Promise<StoredArtifact | undefined>;
}

export function platformArtifactSink(
  baseUrl: string,
  worker: { workerId: string; credential: string },
  logger: Logger,
  timing: { attempts?: number; requestTimeoutMs?: number; retryDelayMs?: number } = {},
): ArtifactSink {
  const attempts = timing.attempts ?? 4;
  return {
    async upload(task, name, bytes) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const endpoint = `${baseUrl}${artifactUploadPath(worker.workerId, task.taskId, task.attempt, name)}`;
      const headers = { authorization: `Worker ${worker.credential}`, [artifactSha256Header]: sha256 };
      let delay = timing.retryDelayMs ?? 500;
      for (let tried = 1; ; tried++) {
        let why: string;
        try {
          const signal = AbortSignal.timeout(timing.requestTimeoutMs ?? 60_000);
          const reply = await requestJson('PUT', endpoint, { bytes, contentType: 'application/octet-stream' }, signal, headers);
          if (reply.status >= 200 && reply.status < 300) return { name, bytes: bytes.length, sha256 };
          why = `HTTP ${reply.status}: ${reply.text.slice(0, 300)}`;
          if (reply.status >= 400 && reply.status < 500 && reply.status !== 408 && reply.status !== 429) {
            logger.warn(`${task.taskId}:${task.attempt}: the platform refused artifact ${name} (${why})`);
            return undefined;
          }
        } catch (error) {
          why = describeError(error);
        }
        if (tried >= attempts) {
          logger.warn(`${task.taskId}:${task.attempt}: artifact ${name} not stored after ${tried} tries (${why})`);
          return undefined;
        }
        await abortableSleep(delay);
        delay *= 2;
      }
    },
  };
}
