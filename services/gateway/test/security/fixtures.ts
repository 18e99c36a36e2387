/*
 * The fixture registry: for each collection a path id can name (`/tasks/{id}` → `tasks`), how
 * to create a real object owned by a given user. The route matrix asks this registry for every
 * path parameter of the OpenAPI document; a route whose collection has no entry fails with
 * "add a fixture for <path>" — so a new kind of object cannot go untested by accident.
 */
import { randomUUID } from 'node:crypto';
import { bearer, eventually, type SecurityPlatform, type User } from './security-platform';

export interface Created {
  id: string;
  /** A worker's own credential (for routes a worker calls about itself). */
  credential?: string;
}

/**
 * Creates an object owned by `owner`. `read`: the caller will read it, so wait until it has
 * settled (listed, allocated); `change`: it only has to exist. `parents`: the ids of the path's
 * earlier parameters (`{id}` of `/runs/{id}/nodes/{nodeId}`), which a nested object belongs to.
 */
export type Fixture = (sp: SecurityPlatform, owner: User, use: 'read' | 'change', parents: Record<string, string>) => Promise<Created>;

/** A one-step workflow of the owner (its step, `step`, runs the noop tool). */
async function workflowOf(sp: SecurityPlatform, owner: User): Promise<string> {
  const res = await sp.send({
    method: 'POST',
    path: '/api/v1/workflows',
    headers: bearer(owner.token),
    body: { name: `workflow of ${owner.username}`, kind: 'sequential', steps: [{ id: 'step', task: { tool: 'noop', input: {} } }] },
  });
  if (res.status !== 201) throw new Error(`workflow fixture: ${res.status} ${res.text}`);
  return (res.json as { id: string }).id;
}

export const fixtures: Record<string, Fixture> = {
  /** A task that has reached allocation: it has history and a decision or deferral to show. */
  tasks: async (sp, owner, use) => {
    const res = await sp.send({
      method: 'POST',
      path: '/api/v1/tasks',
      headers: bearer(owner.token),
      body: { description: `task of ${owner.username}`, tool: 'noop', input: {} },
    });
    if (res.status !== 201) throw new Error(`task fixture: ${res.status} ${res.text}`);
    const id = (res.json as { id: string }).id;
    if (use === 'read')
      await eventually(`task ${id} allocated`, async () =>
        (await sp.send({ method: 'GET', path: `/api/v1/tasks/${id}/allocation`, headers: bearer(owner.token) })).status === 200 ? true : undefined,
      );
    return { id };
  },
  /** A registered worker (no agent runs it: it stays offline) and its credential. */
  workers: async (sp, owner) => {
    const registered = await registerWorker(sp, owner, `worker of ${owner.username}`);
    const id = registered.workerId;
    // Listed before any use: a command on it (share, drain) must find it too.
    await eventually(`worker ${id} listed`, async () =>
      (await sp.send({ method: 'GET', path: `/api/v1/workers/${id}`, headers: bearer(owner.token) })).status === 200 ? true : undefined,
    );
    return { id, credential: registered.credential };
  },
  /** A workflow (version 1). */
  workflows: async (sp, owner) => ({ id: await workflowOf(sp, owner) }),
  /** A version of the workflow the path names. */
  versions: async () => ({ id: '1' }),
  /** A schedule of the workflow the path names (one that never fires during the suite). */
  schedules: async (sp, owner, _use, parents) => {
    const res = await sp.send({ method: 'POST', path: `/api/v1/workflows/${parents.id}/schedules`, headers: bearer(owner.token), body: { cron: '0 0 1 1 *' } });
    if (res.status !== 201) throw new Error(`schedule fixture: ${res.status} ${res.text}`);
    return { id: (res.json as { schedules: Array<{ id: string }> }).schedules.at(-1)!.id };
  },
  /** A run of a fresh workflow (its node waits for a worker that offers noop); read: once listed. */
  runs: async (sp, owner, use) => {
    const workflowId = await workflowOf(sp, owner);
    const res = await sp.send({ method: 'POST', path: `/api/v1/workflows/${workflowId}/execute`, headers: bearer(owner.token), body: {} });
    if (res.status !== 201) throw new Error(`run fixture: ${res.status} ${res.text}`);
    const id = (res.json as { id: string }).id;
    if (use === 'read')
      await eventually(`run ${id} listed, its node's task created`, async () => {
        const runs = await sp.send({ method: 'GET', path: '/api/v1/runs', headers: bearer(owner.token) });
        if (!(runs.json as { items: Array<{ id: string }> }).items.some((r) => r.id === id)) return undefined;
        const run = (await sp.send({ method: 'GET', path: `/api/v1/runs/${id}`, headers: bearer(owner.token) })).json as {
          nodes: Record<string, { taskId: string | null }>;
        };
        const taskId = run.nodes.step?.taskId;
        return taskId && (await sp.send({ method: 'GET', path: `/api/v1/tasks/${taskId}`, headers: bearer(owner.token) })).status === 200 ? true : undefined;
      });
    return { id };
  },
  /** The node of the run the path names. */
  nodes: async () => ({ id: 'step' }),
  /** A template saved from a workflow of the owner. */
  'workflow-templates': async (sp, owner) => {
    const res = await sp.send({
      method: 'POST',
      path: '/api/v1/workflow-templates',
      headers: bearer(owner.token),
      body: { workflowId: await workflowOf(sp, owner) },
    });
    if (res.status !== 201) throw new Error(`template fixture: ${res.status} ${res.text}`);
    return { id: (res.json as { id: string }).id };
  },
  /** A secret of the owner (its name is its id). */
  secrets: async (sp, owner) => {
    const name = `s_${randomUUID().slice(0, 8)}`;
    const res = await sp.send({ method: 'POST', path: '/api/v1/secrets', headers: bearer(owner.token), body: { name, value: 'fixture-secret-value' } });
    if (res.status !== 201) throw new Error(`secret fixture: ${res.status} ${res.text}`);
    return { id: name };
  },
  /** An attempt of the task the path names: its first. */
  attempts: async () => ({ id: '1' }),
  /**
   * An artifact of the task the path names: its full log, which the agent uploads when an attempt
   * ends. (A route is answered for a name the task lacks with a 404 that names what it has, which
   * differs from a random task's "no such task".)
   */
  artifacts: async () => ({ id: 'log' }),
  /**
   * The worker agent package (public, nobody's object): its current file name. Any other name is
   * a 404, so the route is answered differently for it than for a random id.
   */
  downloads: async (sp) => {
    const res = await sp.send({ method: 'GET', path: '/downloads/agentyard-worker.json' });
    if (res.status !== 200) throw new Error(`downloads fixture: ${res.status} ${res.text} (is the worker package built? node infra/scripts/build.mjs)`);
    return { id: (res.json as { file: string }).file };
  },
  /** An API token of the owner. */
  tokens: async (sp, owner) => {
    const res = await sp.send({
      method: 'POST',
      path: '/api/v1/auth/tokens',
      headers: bearer(owner.token),
      body: { name: `token of ${owner.username}`, scopes: ['tasks:read'] },
    });
    if (res.status !== 201) throw new Error(`token fixture: ${res.status} ${res.text}`);
    return { id: (res.json as { id: string }).id };
  },
};

/** The fixture for a path parameter's collection, or the error that tells what to add. */
export function fixtureFor(resource: string, path: string): Fixture {
  const fixture = fixtures[resource];
  if (!fixture) throw new Error(`add a fixture for ${path} (collection "${resource}") to services/gateway/test/security/fixtures.ts`);
  return fixture;
}

/**
 * An id of the right shape for its collection that names nothing: a foreign id must be answered
 * exactly like this one, so both must pass the same shape checks.
 */
export function randomId(resource = ''): string {
  const hex = randomUUID().replace(/-/g, '').slice(0, 12);
  if (resource === 'nodes') return `n_${hex}`;
  if (resource === 'secrets') return `s_${hex}`;
  if (resource === 'versions') return '999999';
  if (resource === 'attempts') return '99999';
  if (resource === 'artifacts') return `a_${hex}`;
  return randomUUID();
}

/** Registers a worker for `owner` through the API, as an agent would. */
export async function registerWorker(sp: SecurityPlatform, owner: User, name: string): Promise<{ workerId: string; credential: string }> {
  const token = await sp.send({ method: 'POST', path: '/api/v1/workers/registration-tokens', headers: bearer(owner.token), body: { uses: 1 } });
  if (token.status !== 201) throw new Error(`registration token: ${token.status} ${token.text}`);
  const res = await sp.send({
    method: 'POST',
    path: '/api/v1/workers/register',
    body: {
      token: (token.json as { token: string }).token,
      name: name.replace(/[^\w.@ -]/g, '_'),
      hostname: 'fixture-host',
      platform: 'linux',
      arch: 'x64',
      tools: [{ name: 'noop', version: null }],
      slots: 1,
      resources: { cpus: 1, memoryMb: 1024, diskMb: 1024 },
      agentVersion: 'fixture',
    },
  });
  if (res.status !== 201) throw new Error(`register worker: ${res.status} ${res.text}`);
  return res.json as { workerId: string; credential: string };
}
