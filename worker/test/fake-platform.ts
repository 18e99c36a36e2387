/*
 * A test peer for the platform side of the worker protocol: answers
 * `POST /api/v1/workers/register` and `GET /health/ready` like the gateway + workers service will,
 * and provisions what the workers service provisions at registration (the WORK stream exists; the
 * worker's durable consumer `worker-<id>` is created). The real services are built concurrently
 * by others; this keeps the agent's suite independent of them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AckPolicy, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import {
  assignmentAckWaitMs,
  registerWorkerBodySchema,
  registrationTokenPattern,
  workerConsumerName,
  workStream,
  workSubjects,
  type RegisterWorkerBody,
  type WorkerRegistration,
} from '@agentyard/contracts';

/** A well-formed registration token (`ayr_<uuid>.<43 base64url chars>`). */
export function newRegistrationToken(): string {
  return `ayr_${randomUUID()}.${randomBytes(32).toString('base64url')}`;
}

export interface FakePlatform {
  readonly url: string;
  /** Every accepted registration body, in order, with the worker id it got. */
  readonly registrations: { body: RegisterWorkerBody; workerId: string }[];
  /** Register calls, accepted or not. */
  readonly registerCalls: number;
  /** Tokens the platform refuses with 401. */
  rejectTokens: Set<string>;
  /** What `POST /workers/{id}/tasks/{taskId}/secrets` answers, by task id (404 when absent), after `delayMs`. */
  taskSecrets: Map<string, { status: number; body: unknown; delayMs?: number }>;
  /** Secrets requests received: task id, the body and the Authorization header. */
  readonly secretRequests: { taskId: string; body: unknown; authorization: string | undefined }[];
  /** While true, artifact uploads are never answered (an agent keeping an attempt's work hangs there). */
  holdArtifacts: boolean;
  /** Artifact uploads received (answered or held): task id and name. */
  readonly artifactUploads: { taskId: string; name: string }[];
  close(): Promise<void>;
}

export async function ensureWorkStream(jsm: JetStreamManager): Promise<void> {
  await jsm.streams.add({ name: workStream.name, subjects: [...workStream.subjects] });
}

export async function startFakePlatform(jsm: JetStreamManager, natsUrl: string, heartbeatIntervalMs = 500): Promise<FakePlatform> {
  const registrations: FakePlatform['registrations'] = [];
  let registerCalls = 0;
  const rejectTokens = new Set<string>();
  const taskSecrets: FakePlatform['taskSecrets'] = new Map();
  const secretRequests: FakePlatform['secretRequests'] = [];
  const artifactUploads: FakePlatform['artifactUploads'] = [];
  const state = { holdArtifacts: false };

  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/health/ready') return reply(200, { status: 'ok' });
    // The fake's NATS runs without auth: what the platform answers then (all null).
    if (req.method === 'POST' && /^\/api\/v1\/workers\/[\w-]+\/nats-credentials$/.test(req.url ?? '')) {
      if (!/^Worker ayw_/.test(req.headers.authorization ?? '')) return reply(401, { error: 'UNAUTHENTICATED', message: 'send the worker credential' });
      return reply(200, { creds: null, expiresAt: null, inboxPrefix: null });
    }
    const secrets = /^\/api\/v1\/workers\/[\w-]+\/tasks\/([\w-]+)\/secrets$/.exec(req.url ?? '');
    if (req.method === 'POST' && secrets) {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const taskId = secrets[1]!;
        secretRequests.push({ taskId, body: JSON.parse(text || 'null'), authorization: req.headers.authorization });
        const answer = taskSecrets.get(taskId) ?? { status: 404, body: { error: 'NOT_FOUND', message: 'no such task' } };
        setTimeout(() => reply(answer.status, answer.body), answer.delayMs ?? 0);
      });
      return;
    }
    const artifact = /^\/api\/v1\/workers\/[\w-]+\/tasks\/([\w-]+)\/attempts\/\d+\/artifacts\/([^/?]+)$/.exec(req.url ?? '');
    if (req.method === 'PUT' && artifact) {
      artifactUploads.push({ taskId: artifact[1]!, name: decodeURIComponent(artifact[2]!) });
      req.resume();
      if (state.holdArtifacts) return; // never answered
      return reply(404, { error: 'NOT_FOUND', message: 'artifacts are not kept here' });
    }
    if (req.method !== 'POST' || req.url !== '/api/v1/workers/register') return reply(404, { error: 'NOT_FOUND', message: 'no such route' });
    registerCalls++;
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      void (async () => {
        const parsed = registerWorkerBodySchema.safeParse(JSON.parse(text));
        if (!parsed.success) return reply(400, { error: 'VALIDATION_FAILED', message: parsed.error.message });
        if (!registrationTokenPattern.test(parsed.data.token) || rejectTokens.has(parsed.data.token)) {
          return reply(401, { error: 'UNAUTHENTICATED', message: 'registration token is invalid, expired or used up' });
        }
        const workerId = randomUUID();
        await jsm.consumers.add(workStream.name, {
          durable_name: workerConsumerName(workerId),
          filter_subject: workSubjects.assign(workerId),
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          ack_wait: assignmentAckWaitMs * 1_000_000,
          max_deliver: 10,
        });
        registrations.push({ body: parsed.data, workerId });
        const registration: WorkerRegistration = {
          workerId,
          credential: `ayw_${randomUUID()}.${randomBytes(32).toString('base64url')}`,
          natsUrl,
          heartbeatIntervalMs,
        };
        reply(201, registration);
      })().catch((error: unknown) => reply(500, { error: 'INTERNAL', message: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    registrations,
    get registerCalls() {
      return registerCalls;
    },
    rejectTokens,
    taskSecrets,
    secretRequests,
    get holdArtifacts() {
      return state.holdArtifacts;
    },
    set holdArtifacts(hold: boolean) {
      state.holdArtifacts = hold;
    },
    artifactUploads,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections(); // held uploads too
        server.close(() => resolve());
      }),
  };
}
