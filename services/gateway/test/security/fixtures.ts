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
 * settled (listed, allocated); `change`: it only has to exist.
 */
export type Fixture = (sp: SecurityPlatform, owner: User, use: 'read' | 'change') => Promise<Created>;

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
  workers: async (sp, owner, use) => {
    const registered = await registerWorker(sp, owner, `worker of ${owner.username}`);
    const id = registered.workerId;
    if (use === 'read')
      await eventually(`worker ${id} listed`, async () =>
        (await sp.send({ method: 'GET', path: `/api/v1/workers/${id}`, headers: bearer(owner.token) })).status === 200 ? true : undefined,
      );
    return { id, credential: registered.credential };
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

/** An id of the right shape that names nothing. */
export const randomId = (): string => randomUUID();

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
