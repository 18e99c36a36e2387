/*
 * The agent's calls to the platform's HTTP API: `POST /api/v1/workers/register` once,
 * `POST /api/v1/workers/{id}/nats-credentials` at start and before its NATS credentials expire, and
 * `POST /api/v1/workers/{id}/tasks/{taskId}/secrets` when an attempt's env references secrets.
 * A 4xx means the token, the credential or the body is wrong — retrying cannot fix that, so it
 * surfaces at once as RegistrationRejected with the server's message. Network errors, 5xx, 408
 * and 429 are transient (platform restarting, rate limit) and are retried with capped exponential
 * backoff until the caller aborts.
 */
import type { z } from 'zod';
import {
  errorBodySchema,
  registerWorkerBodySchema,
  taskSecretsSchema,
  workerNatsCredentialsSchema,
  workerRegistrationSchema,
  type RegisterWorkerBody,
  type WorkerNatsCredentials,
  type WorkerRegistration,
} from '@agentyard/contracts/agent';
import { describeError, type Logger } from '../logging/logger';
import { abortableSleep } from '../system/abortable-sleep';
import { requestJson } from '../system/http-json';

/** The platform refused the call (bad/expired token, revoked credential, invalid body): do not retry. */
export class RegistrationRejected extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RegistrationRejected';
  }
}

export interface RegisterOptions {
  logger: Logger;
  /** Aborts the retry loop (SIGTERM while the platform is unreachable). */
  signal?: AbortSignal;
  /** Backoff bounds; defaults 1 s doubling to 30 s. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Per-attempt timeout. Default 15 s. */
  requestTimeoutMs?: number;
}

/** Registers with the platform at `baseUrl`; resolves with the credential and NATS details. */
export async function registerWorker(baseUrl: string, body: RegisterWorkerBody, options: RegisterOptions): Promise<WorkerRegistration> {
  // Validate locally first: a body the platform would reject is our bug, better named here.
  const payload = JSON.stringify(registerWorkerBodySchema.parse(body));
  return callPlatform(baseUrl, 'api/v1/workers/register', payload, workerRegistrationSchema, 'registration', {}, options);
}

/** The worker's NATS credentials (all null when the platform's NATS runs without auth). */
export async function fetchNatsCredentials(
  baseUrl: string,
  worker: { workerId: string; credential: string },
  options: RegisterOptions,
): Promise<WorkerNatsCredentials> {
  const path = `api/v1/workers/${encodeURIComponent(worker.workerId)}/nats-credentials`;
  return callPlatform(baseUrl, path, undefined, workerNatsCredentialsSchema, 'NATS credentials', { authorization: `Worker ${worker.credential}` }, options);
}

/**
 * The values of the secrets a task's env references, for the attempt this worker runs. The
 * platform answers only while this worker holds that attempt; a refusal (4xx: not ours any more,
 * a secret was deleted) throws RegistrationRejected with its message. Transient failures are
 * retried until `options.signal` aborts — the caller bounds it.
 */
export async function fetchTaskSecrets(
  baseUrl: string,
  worker: { workerId: string; credential: string },
  task: { taskId: string; attempt: number },
  options: RegisterOptions,
): Promise<Record<string, string>> {
  const path = `api/v1/workers/${encodeURIComponent(worker.workerId)}/tasks/${encodeURIComponent(task.taskId)}/secrets`;
  const payload = JSON.stringify({ attempt: task.attempt });
  const headers = { authorization: `Worker ${worker.credential}` };
  const reply = await callPlatform(baseUrl, path, payload, taskSecretsSchema, 'task secrets', headers, options, true);
  return reply.values;
}

/**
 * POSTs to `path`, retrying transient failures; a 4xx throws RegistrationRejected. A reply that
 * holds secret values (`secretReply`) is never quoted in an error: errors end up in logs and events.
 */
async function callPlatform<T>(
  baseUrl: string,
  path: string,
  payload: string | undefined,
  schema: z.ZodType<T>,
  what: string,
  headers: Record<string, string>,
  options: RegisterOptions,
  secretReply = false,
): Promise<T> {
  const endpoint = new URL(path, `${baseUrl}/`).toString();
  let delay = options.initialDelayMs ?? 1_000;
  const maxDelay = options.maxDelayMs ?? 30_000;
  for (;;) {
    options.signal?.throwIfAborted();
    let retryReason: string;
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(options.requestTimeoutMs ?? 15_000), ...(options.signal ? [options.signal] : [])]);
      const response = await requestJson('POST', endpoint, payload, signal, headers);
      const text = response.text;
      if (response.status >= 200 && response.status < 300) {
        const parsed = schema.safeParse(safeJson(text));
        if (!parsed.success) {
          const shown = secretReply ? '(not shown: it holds secret values)' : text.slice(0, 200);
          throw new RegistrationRejected(response.status, `the platform's ${what} reply is not what the agent expects: ${shown}`);
        }
        return parsed.data;
      }
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
        throw new RegistrationRejected(response.status, serverMessage(text) ?? `${what} refused with HTTP ${response.status}`);
      }
      retryReason = `HTTP ${response.status}${serverMessage(text) ? `: ${serverMessage(text)}` : ''}`;
    } catch (error) {
      if (error instanceof RegistrationRejected) throw error;
      options.signal?.throwIfAborted();
      retryReason = describeError(error instanceof Error && error.cause instanceof Error ? error.cause : error);
    }
    options.logger.warn(`${what} at ${endpoint} failed (${retryReason}); retrying in ${Math.round(delay / 1000)} s`);
    await abortableSleep(delay, options.signal);
    delay = Math.min(delay * 2, maxDelay);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The ErrorBody `message` of a failed reply, if it has one. */
function serverMessage(text: string): string | undefined {
  const parsed = errorBodySchema.safeParse(safeJson(text));
  return parsed.success ? parsed.data.message : undefined;
}
