/*
 * The gateway's operations as the security suite sees them, read from the running gateway's
 * OpenAPI document (GET /api/docs/openapi.json) — so a route added to the document is tested
 * without anyone listing it here.
 */
export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema> };
}

interface OpenApiOperation {
  security?: Array<Record<string, unknown>>;
  parameters?: Array<{ name: string; in: string; schema: JsonSchema; required?: boolean }>;
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The OpenAPI path, e.g. `/api/v1/tasks/{id}/cancel`. */
  path: string;
  /** Who may call it: a user's bearer token, a worker's credential, or anybody. */
  security: 'bearer' | 'worker' | 'none';
  /** Path parameters in order, each with the collection it names (`tasks` for `/tasks/{id}`). */
  params: Array<{ name: string; resource: string }>;
  /** The JSON body schema (references resolved) and its component name. */
  body?: { name: string; schema: JsonSchema };
  /** Query parameters and their schemas. */
  query: Array<{ name: string; schema: JsonSchema }>;
  /** Request headers the operation reads (beyond credentials and content type) and their schemas. */
  headers: Array<{ name: string; schema: JsonSchema; required: boolean }>;
}

/** Fetches the document from a running gateway. */
export async function fetchOpenApi(baseUrl: string): Promise<OpenApiDocument> {
  const res = await fetch(`${baseUrl}/api/docs/openapi.json`);
  if (!res.ok) throw new Error(`GET /api/docs/openapi.json: ${res.status}`);
  return (await res.json()) as OpenApiDocument;
}

/** Every (method, path) of the document. */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
      const ref = op.requestBody?.content['application/json']?.schema.$ref;
      const bodyName = typeof ref === 'string' ? ref.split('/').pop()! : undefined;
      out.push({
        method: method.toUpperCase() as Operation['method'],
        path,
        security: schemes.includes('workerCredential') ? 'worker' : schemes.length > 0 ? 'bearer' : 'none',
        params: pathParams(path),
        body: bodyName ? { name: bodyName, schema: resolveRefs(doc.components.schemas[bodyName]!, doc) } : undefined,
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: resolveRefs(p.schema, doc) })),
        headers: (op.parameters ?? []).filter((p) => p.in === 'header').map((p) => ({ name: p.name, schema: p.schema, required: p.required === true })),
      });
    }
  }
  return out;
}

/** `{id}` after `/tasks` names a task: the fixture registry is keyed by that collection. */
export function pathParams(path: string): Array<{ name: string; resource: string }> {
  const segments = path.split('/');
  return segments.flatMap((s, i) => (/^\{.+\}$/.test(s) ? [{ name: s.slice(1, -1), resource: segments[i - 1] ?? '' }] : []));
}

/** The path with each parameter replaced by the given ids. */
export function fillPath(op: Operation, ids: Record<string, string>): string {
  return op.path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(ids[name] ?? ''));
}

/** A readable label: `POST /api/v1/tasks/{id}/cancel`. */
export const labelOf = (op: Pick<Operation, 'method' | 'path'>): string => `${op.method} ${op.path}`;

/** Inlines `#/components/schemas/…` and local `#/$defs/…` references (the schemas are small and acyclic). */
export function resolveRefs(schema: JsonSchema, doc: OpenApiDocument, root: JsonSchema = schema): JsonSchema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const obj = node as JsonSchema;
    if (typeof obj.$ref === 'string') {
      const [, where, name] = /^#\/(components\/schemas|\$defs)\/(.+)$/.exec(obj.$ref) ?? [];
      const target = where === '$defs' ? (root.$defs as Record<string, JsonSchema> | undefined)?.[name!] : doc.components.schemas[name!];
      if (!target) throw new Error(`unresolvable $ref ${obj.$ref}`);
      return walk(target);
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, walk(v)]));
  };
  return walk(schema) as JsonSchema;
}
