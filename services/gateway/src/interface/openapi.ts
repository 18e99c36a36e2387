/*
 * The OpenAPI 3.1 document, generated from the zod schemas in contracts (3.1 uses JSON Schema
 * 2020-12, which is what zod emits), so docs and validation cannot drift. The dashboard's API
 * types are generated from this document.
 */
import { artifactNamePattern, artifactSha256Header, secretNamePattern, toJsonSchemas, type JsonSchema } from '@agentyard/contracts';

type Op = {
  summary: string;
  body?: string;
  /** A raw (non-JSON) request body: its content type. */
  rawBody?: { contentType: string; description: string };
  /** Request headers the operation reads. */
  headers?: Array<{ name: string; description: string; pattern: string; optional?: true }>;
  /** The success answer is bytes of these content types, not JSON. */
  rawAnswer?: string[];
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
      summary:
        'Submit a task (429 with Retry-After past your unfinished-task or daily agent-cost limit, when the platform queue is full, or while too many creations are in flight)',
      body: 'CreateTaskBody',
      headers: [
        {
          name: 'Idempotency-Key',
          description:
            'optional; the same key from the same user answers with the task it first created (201, header Idempotent-Replayed: true) instead of creating another; the same key with a different request is a 409',
          pattern: '^[\\x21-\\x7e]{1,255}$',
          optional: true,
        },
      ],
      ok: { status: 201, schema: 'Task', description: 'the queued task' },
      errors: [400, 401, 409, 413, 429],
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
  '/api/v1/usage': {
    get: {
      summary: 'Your agent usage (tokens, cost) per UTC day and tool; default the last 30 days',
      query: 'UsageQuery',
      ok: { status: 200, schema: 'UsageReport', description: 'days and their total' },
      errors: [400, 401],
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
  '/api/v1/workflows': {
    get: {
      summary: 'List your workflows',
      query: 'ListWorkflowsQuery',
      ok: { status: 200, schema: 'WorkflowPage', description: 'a page' },
      errors: [400, 401],
      auth: true,
    },
    post: {
      summary: 'Create a workflow (version 1)',
      body: 'WorkflowDefinition',
      ok: { status: 201, schema: 'Workflow', description: 'the workflow' },
      errors: [400, 401, 413],
      auth: true,
    },
  },
  '/api/v1/workflows/validate': {
    post: {
      summary: 'Check a definition without saving it',
      body: 'WorkflowDefinition',
      ok: { status: 200, schema: 'WorkflowValidation', description: 'every problem found, or the compiled graph' },
      errors: [400, 401],
      auth: true,
    },
  },
  '/api/v1/workflows/{id}': {
    get: {
      summary: 'One workflow with its latest definition',
      ok: { status: 200, schema: 'Workflow', description: 'the workflow' },
      errors: [401, 404],
      auth: true,
    },
    put: {
      summary: 'Save a new version',
      body: 'WorkflowDefinition',
      ok: { status: 200, schema: 'Workflow', description: 'the workflow' },
      errors: [400, 401, 404],
      auth: true,
    },
    delete: {
      summary: 'Delete a workflow without active runs (history is kept)',
      ok: { status: 204, description: 'deleted' },
      errors: [401, 404, 409],
      auth: true,
    },
  },
  '/api/v1/workflows/{id}/versions/{version}': {
    get: { summary: 'The definition of one version', ok: { status: 200, description: '{ version, definition }' }, errors: [401, 404], auth: true },
  },
  '/api/v1/workflows/{id}/events': {
    get: { summary: "The workflow's event history, in order", ok: { status: 200, description: '{ items: Envelope[] }' }, errors: [401, 404], auth: true },
  },
  '/api/v1/workflows/{id}/execute': {
    post: {
      summary: 'Start a run (latest version, or `version`)',
      body: 'ExecuteWorkflowBody',
      ok: { status: 201, schema: 'Run', description: 'the run' },
      errors: [400, 401, 404, 409],
      auth: true,
    },
  },
  '/api/v1/workflows/{id}/pause': {
    post: {
      summary: 'Pause its schedules and active runs',
      ok: { status: 200, schema: 'Workflow', description: 'the workflow' },
      errors: [401, 404],
      auth: true,
    },
  },
  '/api/v1/workflows/{id}/resume': {
    post: {
      summary: 'Resume its schedules and paused runs',
      ok: { status: 200, schema: 'Workflow', description: 'the workflow' },
      errors: [401, 404],
      auth: true,
    },
  },
  '/api/v1/workflows/{id}/runs': {
    get: {
      summary: "The workflow's runs, newest first",
      query: 'ListRunsQuery',
      ok: { status: 200, schema: 'RunPage', description: 'a page' },
      errors: [400, 401, 404],
      auth: true,
    },
  },
  '/api/v1/workflows/{id}/schedules': {
    get: { summary: "The workflow's cron schedules", ok: { status: 200, description: '{ items: WorkflowSchedule[] }' }, errors: [401, 404], auth: true },
    post: {
      summary: 'Add a cron schedule',
      body: 'AddScheduleBody',
      ok: { status: 201, schema: 'Workflow', description: 'the workflow' },
      errors: [400, 401, 404, 409],
      auth: true,
    },
  },
  '/api/v1/workflows/{id}/schedules/{scheduleId}': {
    delete: { summary: 'Remove a schedule', ok: { status: 200, schema: 'Workflow', description: 'the workflow' }, errors: [401, 404], auth: true },
  },
  '/api/v1/runs': {
    get: {
      summary: 'Your runs, newest first',
      query: 'ListRunsQuery',
      ok: { status: 200, schema: 'RunPage', description: 'a page' },
      errors: [400, 401],
      auth: true,
    },
  },
  '/api/v1/runs/{id}': {
    get: { summary: 'One run: its graph and every node', ok: { status: 200, schema: 'Run', description: 'the run' }, errors: [401, 404], auth: true },
  },
  '/api/v1/runs/{id}/events': {
    get: {
      summary: "The run's event history (every decision), in order",
      ok: { status: 200, description: '{ items: Envelope[] }' },
      errors: [401, 404],
      auth: true,
    },
  },
  '/api/v1/runs/{id}/pause': {
    post: {
      summary: 'Pause: no new node starts; running ones finish',
      ok: { status: 200, schema: 'Run', description: 'the run' },
      errors: [401, 404, 409],
      auth: true,
    },
  },
  '/api/v1/runs/{id}/resume': {
    post: { summary: 'Resume a paused run', ok: { status: 200, schema: 'Run', description: 'the run' }, errors: [401, 404, 409], auth: true },
  },
  '/api/v1/runs/{id}/cancel': {
    post: { summary: 'Cancel: running tasks are cancelled', ok: { status: 200, schema: 'Run', description: 'the run' }, errors: [401, 404, 409], auth: true },
  },
  '/api/v1/runs/{id}/nodes/{nodeId}/retry': {
    post: {
      summary: 'Run a failed or cancelled node again, with what depends on it',
      ok: { status: 200, schema: 'Run', description: 'the run' },
      errors: [401, 404, 409],
      auth: true,
    },
  },
  '/api/v1/runs/{id}/nodes/{nodeId}/approval': {
    post: {
      summary: 'Approve or reject a waiting approval node',
      body: 'ApprovalBody',
      ok: { status: 200, schema: 'Run', description: 'the run' },
      errors: [400, 401, 404, 409],
      auth: true,
    },
  },
  '/api/v1/runs/{id}/nodes/{nodeId}/winner': {
    post: {
      summary: "Choose a select node's winner (strategy manual)",
      body: 'PickWinnerBody',
      ok: { status: 200, schema: 'Run', description: 'the run' },
      errors: [400, 401, 404, 409],
      auth: true,
    },
  },
  '/api/v1/workflow-templates': {
    get: { summary: 'Built-in templates and yours', ok: { status: 200, description: '{ items: WorkflowTemplate[] }' }, errors: [401], auth: true },
    post: {
      summary: 'Save one of your workflows as a template',
      body: 'SaveTemplateBody',
      ok: { status: 201, schema: 'WorkflowTemplate', description: 'the template' },
      errors: [400, 401, 404, 409],
      auth: true,
    },
  },
  '/api/v1/workflow-templates/{id}': {
    delete: { summary: 'Delete one of your templates', ok: { status: 204, description: 'deleted' }, errors: [401, 404], auth: true },
  },
  '/api/v1/workflow-templates/{id}/instantiate': {
    post: {
      summary: 'Create a workflow from a template (and optionally run it)',
      body: 'InstantiateTemplateBody',
      ok: { status: 201, schema: 'InstantiatedTemplate', description: 'the workflow (and run)' },
      errors: [400, 401, 404],
      auth: true,
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
  '/api/v1/workers/{id}/tasks/{taskId}/secrets': {
    post: {
      summary: "The values of the secrets a task's env references, for the agent running its current attempt (agent; never cached)",
      body: 'TaskSecretsRequest',
      ok: { status: 200, schema: 'TaskSecrets', description: 'values by secret name' },
      errors: [400, 401, 403, 404],
      auth: 'worker',
    },
  },
  '/api/v1/workers/{id}/tasks/{taskId}/attempts/{attempt}/artifacts/{name}': {
    put: {
      summary:
        "Store an attempt's log or artifact (agent holding the attempt, assigned or running; upload before reporting it finished). Same name again replaces it once whole",
      rawBody: { contentType: 'application/octet-stream', description: 'the bytes, at most ARTIFACT_MAX_BYTES (64 MiB)' },
      headers: [{ name: artifactSha256Header, description: "the body's SHA-256, hex (checked before anything is stored)", pattern: '^[0-9a-fA-F]{64}$' }],
      ok: { status: 201, schema: 'ArtifactUploaded', description: 'stored' },
      errors: [400, 401, 403, 404, 409, 413, 415],
      auth: 'worker',
    },
  },
  '/api/v1/tasks/{id}/artifacts': {
    get: {
      summary: "The task's stored logs and artifacts, newest attempt first",
      ok: { status: 200, schema: 'ArtifactList', description: 'the artifacts' },
      errors: [401, 403, 404],
      auth: true,
    },
  },
  '/api/v1/tasks/{id}/artifacts/{name}': {
    get: {
      summary: 'Download an artifact (the newest attempt that has it, or ?attempt=N); always an attachment, text or bytes, never HTML',
      query: 'ArtifactQuery',
      rawAnswer: ['text/plain; charset=utf-8', 'application/octet-stream'],
      ok: { status: 200, description: 'the bytes; etag is the SHA-256' },
      errors: [400, 401, 403, 404],
      auth: true,
    },
  },
  '/api/v1/tasks/{id}/logs': {
    get: {
      summary: "The task's full log (the newest attempt that stored one, or ?attempt=N); uploaded when an attempt ends",
      query: 'ArtifactQuery',
      rawAnswer: ['text/plain; charset=utf-8'],
      ok: { status: 200, description: 'the log as text' },
      errors: [400, 401, 403, 404],
      auth: true,
    },
  },
  '/downloads/agentyard-worker.json': {
    get: {
      summary: 'The worker agent package this platform serves: version, file name, sha256, size, what a machine needs (public)',
      ok: { status: 200, description: '{ name, version, file, sha256, size, node, prerequisites }; 304 with If-None-Match' },
      errors: [404],
    },
  },
  '/downloads/{file}': {
    get: {
      summary: 'Download the worker agent package (public; only the current file name, see agentyard-worker.json)',
      rawAnswer: ['application/gzip'],
      ok: { status: 200, description: 'the npm tarball; etag is its SHA-256' },
      errors: [404],
    },
  },
  '/api/v1/secrets': {
    get: {
      summary: 'Your secrets: names and dates, never the values',
      ok: { status: 200, schema: 'SecretList', description: 'the secrets, by name' },
      errors: [401, 403],
      auth: true,
    },
    post: {
      summary: 'Store a secret (encrypted at rest); tasks reference it as {"secret": "<name>"} in their env',
      body: 'CreateSecretBody',
      ok: { status: 201, schema: 'Secret', description: 'the secret, without its value' },
      errors: [400, 401, 403, 409, 413],
      auth: true,
    },
  },
  '/api/v1/secrets/{name}': {
    put: {
      summary: "Change a secret's value (tasks that start later get the new one)",
      body: 'UpdateSecretBody',
      ok: { status: 200, schema: 'Secret', description: 'the secret, without its value' },
      errors: [400, 401, 403, 404],
      auth: true,
    },
    delete: {
      summary: 'Delete a secret; a task still referencing it fails when it starts',
      ok: { status: 204, description: 'deleted' },
      errors: [401, 403, 404],
      auth: true,
    },
  },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Query parameters from a contracts object schema (each property becomes one parameter). */
function queryParameters(name: string): unknown[] {
  const schema = toJsonSchemas()[name] as { properties?: Record<string, unknown> } | undefined;
  return Object.entries(schema?.properties ?? {}).map(([param, s]) => ({ name: param, in: 'query', required: false, schema: s }));
}

/** Schemas of path parameters, by name; `{id}` is a UUID except a template's (built-ins are named). */
function pathParameterSchema(path: string, name: string): Record<string, unknown> {
  if (name === 'id' && path.startsWith('/api/v1/workflow-templates/')) return { type: 'string', pattern: '^([0-9a-f-]{36}|builtin-[a-z0-9-]+)$' };
  if (name === 'id' || name === 'scheduleId' || name === 'taskId') return { type: 'string', format: 'uuid' };
  if (name === 'name' && path.includes('/artifacts/')) return { type: 'string', pattern: artifactNamePattern.source };
  if (name === 'name') return { type: 'string', pattern: secretNamePattern.source };
  if (name === 'attempt') return { type: 'integer', minimum: 1 };
  if (name === 'version') return { type: 'integer', minimum: 1 };
  if (name === 'file') return { type: 'string', pattern: '^agentyard-worker-[0-9A-Za-z.+-]+\\.tgz$' };
  if (name === 'nodeId') return { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,199}$' };
  return { type: 'string' };
}

/** Every `{name}` of the path, then the query's parameters. */
function parametersOf(path: string, op: Op): unknown[] {
  const inPath = [...path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: pathParameterSchema(path, m[1]!) }));
  const headers = (op.headers ?? []).map((h) => ({
    name: h.name,
    in: 'header',
    required: !h.optional,
    description: h.description,
    schema: { type: 'string', pattern: h.pattern },
  }));
  return [...inPath, ...headers, ...(op.query ? queryParameters(op.query) : [])];
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
            : op.rawAnswer
              ? {
                  description: op.ok.description,
                  content: Object.fromEntries(op.rawAnswer.map((type) => [type, { schema: { type: 'string', format: 'binary' } }])),
                }
              : { description: op.ok.description },
        };
        for (const status of op.errors) responses[status] = { description: 'error', content: { 'application/json': { schema: ref('ErrorBody') } } };
        return [
          method,
          {
            summary: op.summary,
            tags: [path.startsWith('/api/v1/') ? path.split('/')[3] : path.split('/')[1]],
            ...(op.auth === true ? { security: [{ bearer: [] }] } : op.auth === 'worker' ? { security: [{ workerCredential: [] }] } : {}),
            ...(parametersOf(path, op).length > 0 ? { parameters: parametersOf(path, op) } : {}),
            ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(op.body) } } } } : {}),
            ...(op.rawBody
              ? {
                  requestBody: {
                    required: true,
                    description: op.rawBody.description,
                    content: { [op.rawBody.contentType]: { schema: { type: 'string', format: 'binary' } } },
                  },
                }
              : {}),
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
