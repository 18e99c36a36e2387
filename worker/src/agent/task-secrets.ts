/*
 * Where an attempt's secret values come from: the platform, over HTTP with this worker's
 * credential, for an attempt this worker holds — never NATS (JetStream keeps messages on disk).
 * A refusal (the attempt is no longer ours, a secret was deleted) fails the attempt with the
 * platform's message; a platform that cannot be reached in time hands the attempt back, well
 * before its lease (the time to report `started`) runs out.
 */
import type { Logger } from '../logging/logger';
import { fetchTaskSecrets, RegistrationRejected } from '../registration/registration.client';

/** The platform refused to give the values; its message says why (e.g. "secret gh was deleted"). */
export class SecretsRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretsRefused';
  }
}

export interface TaskSecretSource {
  /** Values by secret name; rejects with SecretsRefused for a refusal, any other error when the platform was not reachable in time. */
  fetch(task: { taskId: string; attempt: number }, signal: AbortSignal): Promise<Record<string, string>>;
}

/** Time allowed for fetching an attempt's secrets, retries included; the platform's lease is 30 s. */
export const secretsFetchTimeoutMs = 15_000;

/** The platform's endpoint as a TaskSecretSource. */
export function platformSecretSource(baseUrl: string, worker: { workerId: string; credential: string }, logger: Logger): TaskSecretSource {
  return {
    async fetch(task, signal) {
      try {
        return await fetchTaskSecrets(baseUrl, worker, task, {
          logger,
          signal: AbortSignal.any([signal, AbortSignal.timeout(secretsFetchTimeoutMs)]),
          initialDelayMs: 500,
          maxDelayMs: 4_000,
          requestTimeoutMs: 5_000,
        });
      } catch (error) {
        if (error instanceof RegistrationRejected) throw new SecretsRefused(error.message);
        throw error;
      }
    },
  };
}
