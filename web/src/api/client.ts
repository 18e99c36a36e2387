/*
 * The typed API client: openapi-fetch over the generated `paths`, with a fetch wrapper that adds
 * the access token, and on a 401 refreshes once and replays the request (the body is cloned
 * before the first send, so a POST can be replayed). The session store owns the one instance.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Task = Schemas['Task'];
export type UsageReport = Schemas['UsageReport'];
export type TaskStatus = Task['status'];
export type ToolName = Task['tool'];
export type TaskPage = Schemas['TaskPage'];
export type CreateTaskBody = Schemas['CreateTaskBody'];
export type Worker = Schemas['Worker'];
export type Heartbeat = Schemas['Heartbeat'];
export type User = Schemas['User'];
export type TokenPair = Schemas['TokenPair'];
export type Envelope = Schemas['Envelope'];
export type AllocationDecision = Schemas['AllocationDecision'];
export type RegistrationToken = Schemas['RegistrationToken'];
export type ErrorBody = Schemas['ErrorBody'];
export type ListTasksQuery = NonNullable<paths['/api/v1/tasks']['get']['parameters']['query']>;
export type WorkflowDefinition = Schemas['WorkflowDefinition'];
export type WorkflowKind = WorkflowDefinition['kind'];
export type GraphDefinition = Extract<WorkflowDefinition, { kind: 'graph' }>;
export type GraphNodeDef = GraphDefinition['nodes'][number];
export type GraphNodeType = GraphNodeDef['type'];
export type GraphEdgeDef = NonNullable<GraphDefinition['edges']>[number];
export type TaskSpec = Extract<GraphNodeDef, { type: 'task' }>['task'];
export type Join = NonNullable<GraphNodeDef['join']>;
export type WorkflowParameter = NonNullable<WorkflowDefinition['parameters']>[number];
export type WorkflowSettings = NonNullable<WorkflowDefinition['settings']>;
export type Workflow = Schemas['Workflow'];
export type WorkflowSummary = Schemas['WorkflowSummary'];
export type WorkflowSchedule = Schemas['WorkflowSchedule'];
export type WorkflowValidation = Schemas['WorkflowValidation'];
export type ValidationIssue = WorkflowValidation['errors'][number];
export type WorkflowTemplate = Schemas['WorkflowTemplate'];
export type InstantiateTemplateBody = Schemas['InstantiateTemplateBody'];
export type InstantiatedTemplate = Schemas['InstantiatedTemplate'];
export type Run = Schemas['Run'];
export type RunSummary = Schemas['RunSummary'];
export type RunStatus = Run['status'];
export type RunGraph = Schemas['RunGraph'];
export type RunGraphNode = RunGraph['nodes'][number];
export type RunGraphEdge = RunGraph['edges'][number];
export type RunNodeState = Schemas['RunNode'];
export type NodeStatus = RunNodeState['status'];
/** The OpenAPI document gives `{ items: … }` bodies (GET /workers, GET /tasks/{id}/events) no schema; their items are typed. */
export interface Items<T> {
  items: T[];
}

export type ApiClient = Client<paths>;

/** An HTTP error with the gateway's `{ error, message, details?, requestId }` body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Field messages from a VALIDATION_FAILED body, keyed by field path. */
  get fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    if (Array.isArray(this.details)) {
      for (const d of this.details as unknown[]) {
        if (d && typeof d === 'object' && 'field' in d && 'message' in d) out[String(d.field)] = String(d.message);
      }
    }
    return out;
  }
}

/** Turns an openapi-fetch result into its data, or throws an ApiError. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError(0, 'NETWORK', 'The server could not be reached. Check your connection and try again.');
  }
  const { data, error, response } = result;
  if (!response.ok) throw toApiError(response.status, error);
  return data as T;
}

export function toApiError(status: number, body: unknown): ApiError {
  if (body && typeof body === 'object' && 'message' in body) {
    const b = body as Partial<ErrorBody>;
    return new ApiError(status, String(b.error ?? 'ERROR'), String(b.message), b.details, b.requestId);
  }
  return new ApiError(status, 'HTTP_' + status, `The server answered ${status}.`);
}

export interface AuthHooks {
  /** A usable access token (refreshed first when about to expire), or null when signed out. */
  accessToken(): Promise<string | null>;
  /** Called after a 401: refresh; true when there is a new token to retry with. */
  recoverFromUnauthorized(rejected: string): Promise<boolean>;
}

const publicPaths = /\/api\/v1\/(auth\/(login|register|refresh)|workers\/register)$/;

/** A fetch that authenticates requests and replays one after a refresh. */
export function authenticatedFetch(hooks: AuthHooks): (request: Request) => Promise<Response> {
  return async (request) => {
    if (publicPaths.test(new URL(request.url).pathname)) return globalThis.fetch(request);
    const replay = request.clone();
    const token = await hooks.accessToken();
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    const response = await globalThis.fetch(request);
    if (response.status !== 401 || !token) return response;
    if (!(await hooks.recoverFromUnauthorized(token))) return response;
    const next = await hooks.accessToken();
    if (!next) return response;
    replay.headers.set('authorization', `Bearer ${next}`);
    return globalThis.fetch(replay);
  };
}

export function createApiClient(hooks: AuthHooks, baseUrl = globalThis.location?.origin ?? ''): ApiClient {
  return createClient<paths>({ baseUrl, fetch: authenticatedFetch(hooks) });
}
