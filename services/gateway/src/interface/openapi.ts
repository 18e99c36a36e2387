/*
 * The OpenAPI 3.1 document, generated from the zod schemas in contracts (3.1 uses JSON Schema
 * 2020-12, which is what zod emits), so docs and validation cannot drift. The dashboard's API
 * types are generated from this document.
 */
import { toJsonSchemas, type JsonSchema } from '@agentyard/contracts';

type Op = {
  summary: string;
  body?: string;
  ok: { status: number; schema?: string; description: string };
  errors: number[];
  auth?: boolean | 'worker';
  query?: string;
};

const ops: Record<string, Record<string, Op>> = {
  '/api/v1/auth/register': {
    post: {
      summary: 'Create an account (a common password is refused; limited per client)',
      body: 'RegisterBody',
      ok: { status: 201, schema: 'User', description: 'the new user' },
      errors: [400, 409, 413, 415, 429],
    },
  },
  '/api/v1/auth/login': {
    post: {
      summary: 'Log in with username or email',
      body: 'LoginBody',
      ok: { status: 200, schema: 'TokenPair', description: 'a token pair' },
      errors: [400, 401, 429],
    },
  },
  '/api/v1/auth/refresh': {
    post: {
      summary: 'Rotate a refresh token',
      body: 'RefreshBody',
      ok: { status: 200, schema: 'TokenPair', description: 'a new token pair' },
      errors: [400, 401],
    },
  },
  '/api/v1/auth/logout': {
    post: { summary: 'Revoke the access token and its session', ok: { status: 204, description: 'logged out' }, errors: [401], auth: true },
  },
  '/api/v1/auth/me': { get: { summary: 'The caller', ok: { status: 200, schema: 'User', description: 'the user' }, errors: [401], auth: true } },
  '/api/v1/auth/change-password': {
    post: {
      summary: 'Change the password; signs out other sessions at once (API tokens stay valid)',
      body: 'ChangePasswordBody',
      ok: { status: 204, description: 'changed' },
      errors: [400, 401],
      auth: true,
    },
  },
  '/api/v1/auth/tokens': {
    get: {
      summary: 'Your API tokens (never the secret); needs a session',
      ok: { status: 200, schema: 'ApiTokenList', description: 'the tokens, newest first' },
      errors: [401, 403],
      auth: true,
    },
    post: {
      summary: 'Create an API token; needs a session',
      body: 'CreateApiTokenBody',
      ok: { status: 201, schema: 'CreatedApiToken', description: 'the token, shown once' },
      errors: [400, 401, 403, 409],
      auth: true,
    },
  },
  '/api/v1/auth/tokens/{id}': {
    delete: { summary: 'Revoke an API token; needs a session', ok: { status: 204, description: 'revoked' }, errors: [401, 403, 404], auth: true },
  },
  '/api/v1/tasks': {
    get: {
      summary: 'List your tasks (filters, sort, cursor pagination)',
      query: 'ListTasksQuery',
      ok: { status: 200, schema: 'TaskPage', description: 'a page' },
      errors: [400, 401],
      auth: true,
    },
    post: {
      summary: 'Submit a task',
      body: 'CreateTaskBody',
      ok: { status: 201, schema: 'Task', description: 'the queued task' },
      errors: [400, 401, 413],
      auth: true,
    },
  },
  '/api/v1/tasks/{id}': {
    get: { summary: 'One task', ok: { status: 200, schema: 'Task', description: 'the task' }, errors: [401, 404], auth: true },
    put: {
      summary: 'Change description or priority while queued',
      body: 'UpdateTaskBody',
      ok: { status: 200, schema: 'Task', description: 'the task' },
      errors: [400, 401, 404, 409],
      auth: true,
    },
    delete: { summary: 'Delete a finished task (history is kept for audit)', ok: { status: 204, description: 'deleted' }, errors: [401, 404, 409], auth: true },
  },
  '/api/v1/tasks/{id}/cancel': {
    post: { summary: 'Cancel a queued or running task', ok: { status: 200, schema: 'Task', description: 'the task' }, errors: [401, 404, 409], auth: true },
  },
  '/api/v1/tasks/{id}/retry': {
    post: { summary: 'Run a finished task again', ok: { status: 200, schema: 'Task', description: 'the task' }, errors: [401, 404, 409], auth: true },
  },
  '/api/v1/tasks/{id}/events': {
    get: { summary: "The task's event history, in order", ok: { status: 200, description: '{ items: Envelope[] }' }, errors: [401, 404], auth: true },
  },
  '/api/v1/tasks/{id}/allocation': {
    get: {
      summary: 'Why this worker: the allocation decision with every candidate',
      ok: { status: 200, schema: 'AllocationDecision', description: 'the decision' },
      errors: [401, 404],
      auth: true,
    },
  },
  '/api/v1/workers': { get: { summary: 'Workers you have a role on', ok: { status: 200, description: '{ items: Worker[] }' }, errors: [401], auth: true } },
  '/api/v1/workers/registration-tokens': {
    post: {
      summary: 'A token to register a worker, with a copy-paste command',
      body: 'CreateRegistrationTokenBody',
      ok: { status: 201, schema: 'RegistrationToken', description: 'shown once' },
      errors: [400, 401],
      auth: true,
    },
  },
  '/api/v1/workers/register': {
    post: {
      summary: 'Register a worker (called by the agent)',
      body: 'RegisterWorkerBody',
      ok: { status: 201, schema: 'WorkerRegistration', description: 'credential shown once' },
      errors: [400, 401],
    },
  },
  '/api/v1/workers/{id}': { get: { summary: 'One worker', ok: { status: 200, schema: 'Worker', description: 'the worker' }, errors: [401, 404], auth: true } },
  '/api/v1/workers/{id}/drain': {
    post: {
      summary: 'Stop giving this worker new tasks',
      ok: { status: 200, schema: 'Worker', description: 'the worker' },
      errors: [401, 403, 404],
      auth: true,
    },
  },
  '/api/v1/workers/{id}/resume': {
    post: {
      summary: 'Give a drained worker new tasks again',
      ok: { status: 200, schema: 'Worker', description: 'the worker' },
      errors: [401, 403, 404],
      auth: true,
    },
  },
  '/api/v1/workers/{id}/roles': {
    post: {
      summary: 'Share the worker with another user (role user or owner)',
      body: 'GrantWorkerRoleBody',
      ok: { status: 200, schema: 'Worker', description: 'the worker' },
      errors: [400, 401, 403, 404, 409],
      auth: true,
    },
  },
  '/api/v1/workers/{id}/revoke-credential': {
    post: {
      summary: "Revoke the worker's credential: it is refused from now on and must register again",
      ok: { status: 200, schema: 'Worker', description: 'the worker' },
      errors: [401, 403, 404],
      auth: true,
    },
  },
  '/api/v1/workers/{id}/heartbeat': {
    post: { summary: 'Heartbeat over HTTP (agent)', body: 'Heartbeat', ok: { status: 204, description: 'recorded' }, errors: [400, 401, 403], auth: 'worker' },
  },
  '/api/v1/workers/{id}/nats-credentials': {
    post: {
      summary: "The worker's NATS credentials, limited to its own subjects (agent; all null when NATS runs without auth)",
      ok: { status: 200, schema: 'WorkerNatsCredentials', description: 'expiring credentials' },
      errors: [401, 403, 404],
      auth: 'worker',
    },
  },
  '/api/v1/workers/{id}/pull-task': {
    get: {
      summary: 'Next assignment for a polling agent',
      ok: { status: 200, description: 'an Assignment; 204 when none' },
      errors: [401, 403],
      auth: 'worker',
    },
  },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Query parameters from a contracts object schema (each property becomes one parameter). */
function queryParameters(name: string): unknown[] {
  const schema = toJsonSchemas()[name] as { properties?: Record<string, unknown> } | undefined;
  return Object.entries(schema?.properties ?? {}).map(([param, s]) => ({ name: param, in: 'query', required: false, schema: s }));
}

function stripMeta(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, id: _id, ...rest } = schema;
  return rest;
}

/** Builds the gateway's OpenAPI document. */
export function buildOpenApiDocument(): Record<string, unknown> {
  const schemas = Object.fromEntries(Object.entries(toJsonSchemas()).map(([k, v]) => [k, stripMeta(v)]));
  const paths: Record<string, unknown> = {};
  for (const [path, methods] of Object.entries(ops)) {
    paths[path] = Object.fromEntries(
      Object.entries(methods).map(([method, op]) => {
        const responses: Record<string, unknown> = {
          [op.ok.status]: op.ok.schema
            ? { description: op.ok.description, content: { 'application/json': { schema: ref(op.ok.schema) } } }
            : { description: op.ok.description },
        };
        for (const status of op.errors) responses[status] = { description: 'error', content: { 'application/json': { schema: ref('ErrorBody') } } };
        return [
          method,
          {
            summary: op.summary,
            tags: [path.split('/')[3]],
            ...(op.auth === true ? { security: [{ bearer: [] }] } : op.auth === 'worker' ? { security: [{ workerCredential: [] }] } : {}),
            ...(path.includes('{id}') ? { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }] } : {}),
            ...(op.query ? { parameters: queryParameters(op.query) } : {}),
            ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(op.body) } } } } : {}),
            responses,
          },
        ];
      }),
    );
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Agentyard API', version: '1' },
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        workerCredential: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Worker ayw_…' },
      },
    },
  };
}
