/*
 * The OpenAPI 3.1 document, generated from the zod schemas in contracts (3.1 uses JSON Schema
 * 2020-12, which is what zod emits), so docs and validation cannot drift. The dashboard's API
 * types are generated from this document.
 */
import { toJsonSchemas, type JsonSchema } from '@agentyard/contracts';

type Op = { summary: string; body?: string; ok: { status: number; schema?: string; description: string }; errors: number[]; auth?: boolean };

const ops: Record<string, Record<string, Op>> = {
  '/api/v1/auth/register': { post: { summary: 'Create an account', body: 'RegisterBody', ok: { status: 201, schema: 'User', description: 'the new user' }, errors: [400, 409, 413] } },
  '/api/v1/auth/login': { post: { summary: 'Log in with username or email', body: 'LoginBody', ok: { status: 200, schema: 'TokenPair', description: 'a token pair' }, errors: [400, 401, 429] } },
  '/api/v1/auth/refresh': { post: { summary: 'Rotate a refresh token', body: 'RefreshBody', ok: { status: 200, schema: 'TokenPair', description: 'a new token pair' }, errors: [400, 401] } },
  '/api/v1/auth/logout': { post: { summary: 'Revoke the access token and its session', ok: { status: 204, description: 'logged out' }, errors: [401], auth: true } },
  '/api/v1/auth/me': { get: { summary: 'The caller', ok: { status: 200, schema: 'User', description: 'the user' }, errors: [401], auth: true } },
  '/api/v1/auth/change-password': { post: { summary: 'Change the password; signs out other sessions', body: 'ChangePasswordBody', ok: { status: 204, description: 'changed' }, errors: [400, 401], auth: true } },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

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
          [op.ok.status]: op.ok.schema ? { description: op.ok.description, content: { 'application/json': { schema: ref(op.ok.schema) } } } : { description: op.ok.description },
        };
        for (const status of op.errors) responses[status] = { description: 'error', content: { 'application/json': { schema: ref('ErrorBody') } } };
        return [
          method,
          {
            summary: op.summary,
            tags: [path.split('/')[3]],
            ...(op.auth ? { security: [{ bearer: [] }] } : {}),
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
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  };
}
