/*
 * What every security suite starts from: the real platform (startPlatform: nats-server in
 * operator mode, Postgres, every compiled service), raw HTTP that keeps status, headers and text
 * exactly as sent, and users with known passwords.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlatform, type Platform, type PlatformService } from '@agentyard/local-infra';

export { eventually } from '../support/api-client';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
}

export interface Request {
  method: string;
  path: string;
  /** A value is sent as JSON; a string as is (then set `contentType`). */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/** One HTTP request; never throws on a status. */
export async function send(baseUrl: string, req: Request): Promise<Answer> {
  const headers: Record<string, string> = { ...req.headers };
  let body: string | undefined;
  if (req.body !== undefined) {
    body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    headers['content-type'] = req.contentType ?? 'application/json';
  }
  const res = await fetch(`${baseUrl}${req.path}`, { method: req.method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** A registered user: its id, names and password, and a session kept for setting things up. */
export interface User {
  id: string;
  username: string;
  email: string;
  password: string;
  /** An access token of a session the suite never ends (fixtures are created with it). */
  token: string;
}

export interface SecurityPlatform {
  platform: Platform;
  url: string;
  /** Where the gateway wrote every route it registered (ROUTE_LIST_FILE). */
  routeListFile: string;
  send(req: Request): Promise<Answer>;
  /** Registers a user (name made unique) and logs it in. */
  signUp(name: string): Promise<User>;
  /** Logs in again: a new session of the same user. */
  login(user: Pick<User, 'username' | 'password'>): Promise<{ accessToken: string; refreshToken: string }>;
  stop(): Promise<void>;
}

/** Starts the platform; `env` per service as for startPlatform. */
export async function startSecurityPlatform(env: Partial<Record<PlatformService, Record<string, string>>> = {}): Promise<SecurityPlatform> {
  const routeListFile = join(mkdtempSync(join(tmpdir(), 'agentyard-routes-')), 'routes.json');
  // A long fuzz (FUZZ_RUNS=2000) leaves thousands of queued tasks with no worker: the per-user limit must not turn its valid draws into 429s.
  const platform = await startPlatform({
    env: { ...env, gateway: { ROUTE_LIST_FILE: routeListFile, ...env.gateway }, tasks: { USER_MAX_ACTIVE_TASKS: '1000000', ...env.tasks } },
  });
  const url = platform.url;
  const call = (req: Request) => send(url, req);
  const login = async (user: Pick<User, 'username' | 'password'>) => {
    const res = await call({ method: 'POST', path: '/api/v1/auth/login', body: { username: user.username, password: user.password } });
    if (res.status !== 200) throw new Error(`login ${user.username}: ${res.status} ${res.text}`);
    return res.json as { accessToken: string; refreshToken: string };
  };
  return {
    platform,
    url,
    routeListFile,
    send: call,
    login,
    async signUp(name) {
      const username = `${name}-${randomBytes(3).toString('hex')}`;
      const user = { username, email: `${username}@example.com`, password: `pw of ${username}!` };
      const reg = await call({ method: 'POST', path: '/api/v1/auth/register', body: user });
      if (reg.status !== 201) throw new Error(`register ${username}: ${reg.status} ${reg.text}`);
      return { ...user, id: (reg.json as { id: string }).id, token: (await login(user)).accessToken };
    },
    stop: () => platform.stop(),
  };
}
