/*
 * Personal API token calls, typed from the contracts (ApiToken, CreatedApiToken,
 * CreateApiTokenBody) rather than the generated schema, so the dashboard builds whether or not
 * the gateway's OpenAPI document lists /auth/tokens yet. The calls still go through the session's
 * openapi-fetch client (auth header, refresh-and-replay, ApiError via unwrap); only the path
 * typing is loosened.
 */
import type { ApiToken, CreateApiTokenBody, CreatedApiToken } from '@agentyard/contracts';
import { unwrap, type ApiClient, type Items } from './client';

export type { ApiToken, ApiTokenScope, CreateApiTokenBody, CreatedApiToken } from '@agentyard/contracts';

type RawResult = Promise<{ data?: unknown; error?: unknown; response: Response }>;
type RawCall = (url: string, init?: { params?: { path?: Record<string, string> }; body?: unknown }) => RawResult;
/** The client's methods without the per-path typing. */
interface RawClient {
  GET: RawCall;
  POST: RawCall;
  DELETE: RawCall;
}

const base = '/api/v1/auth/tokens';
const raw = (api: ApiClient): RawClient => api as unknown as RawClient;

export async function listApiTokens(api: ApiClient): Promise<ApiToken[]> {
  const body = (await unwrap(raw(api).GET(base))) as Items<ApiToken>;
  return body.items;
}

export async function createApiToken(api: ApiClient, body: CreateApiTokenBody): Promise<CreatedApiToken> {
  return (await unwrap(raw(api).POST(base, { body }))) as CreatedApiToken;
}

export async function revokeApiToken(api: ApiClient, id: string): Promise<void> {
  await unwrap(raw(api).DELETE(`${base}/{id}`, { params: { path: { id } } }));
}
