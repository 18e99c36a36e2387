/*
 * The callers the route matrix tries on user A's objects: nobody, another user in every way the
 * platform lets one authenticate (session, API token of each scope, one of their workers), and
 * credentials that must no longer work (expired, logged out, revoked, ended by a password
 * change). The scopes come from the contracts, so a new scope is a new principal.
 */
import { apiTokenScopes } from '@agentyard/contracts';
import { registerWorker } from './fixtures';
import { bearer, type SecurityPlatform, type User } from './security-platform';

export interface Principal {
  /** Reads in a test name: "another user's session". */
  name: string;
  /** How it authenticates: only routes of the same kind can accept it. */
  kind: 'bearer' | 'worker' | 'none';
  /** false: a credential every secured route must refuse with 401. */
  valid: boolean;
  /** The user whose objects count as the principal's own (none for anonymous). */
  user?: User;
  /** Objects the principal is, rather than owns: a worker credential's own worker. */
  is?: Partial<Record<string, string>>;
  headers(): Record<string, string>;
  /** Called after each request: a session the request ended (logout) is replaced by a new login. */
  heal?(): Promise<void>;
  /**
   * Called before each test: makes the credential anew, so what one test did with it (a logout
   * that succeeded where it should not have) cannot hide what the next test would find.
   */
  prepare?(): Promise<void>;
}

/** A session principal that logs in again when a request ended its session. */
export async function sessionPrincipal(sp: SecurityPlatform, name: string, user: User): Promise<Principal> {
  let token = (await sp.login(user)).accessToken;
  return {
    name,
    kind: 'bearer',
    valid: true,
    user,
    headers: () => bearer(token),
    async heal() {
      if ((await sp.send({ method: 'GET', path: '/api/v1/auth/me', headers: bearer(token) })).status === 401) token = (await sp.login(user)).accessToken;
    },
  };
}

async function apiToken(sp: SecurityPlatform, user: User, scopes: readonly string[]): Promise<{ id: string; token: string }> {
  const res = await sp.send({
    method: 'POST',
    path: '/api/v1/auth/tokens',
    headers: bearer(user.token),
    body: { name: `${scopes.join(' ')} script`.slice(0, 100), scopes },
  });
  if (res.status !== 201) throw new Error(`create API token: ${res.status} ${res.text}`);
  return res.json as { id: string; token: string };
}

/** The principals' names, in order; built below from the same list (contracts' scopes included). */
export const principalNames: readonly string[] = [
  'anonymous',
  "another user's session",
  ...apiTokenScopes.map((scope) => `another user's ${scope} API token`),
  "another user's worker credential",
  "another user's expired access token",
  "another user's logged-out access token",
  "another user's revoked API token",
  'a session ended by a password change in another session',
];

/**
 * Every principal that is not user A. `other` is another user (B) and `expiredToken` an access
 * token of B's that has expired. `changed` is a third user (C): C logs in a second time and
 * changes the password in the first session, so the principal holds C's *other* session.
 */
export async function buildPrincipals(sp: SecurityPlatform, ctx: { other: User; expiredToken: string; changed: User }): Promise<Principal[]> {
  const { other, expiredToken, changed } = ctx;
  const fixed = (name: string, kind: Principal['kind'], valid: boolean, headers: Record<string, string>, extra: Partial<Principal> = {}): Principal => ({
    name,
    kind,
    valid,
    headers: () => headers,
    ...extra,
  });
  const principals: Principal[] = [fixed('anonymous', 'none', false, {})];
  principals.push(await sessionPrincipal(sp, "another user's session", other));
  for (const scope of apiTokenScopes) {
    principals.push(fixed(`another user's ${scope} API token`, 'bearer', true, bearer((await apiToken(sp, other, [scope])).token), { user: other }));
  }
  const worker = await registerWorker(sp, other, `principal worker of ${other.username}`);
  principals.push(
    fixed(
      "another user's worker credential",
      'worker',
      true,
      { authorization: `Worker ${worker.credential}` },
      { user: other, is: { workers: worker.workerId } },
    ),
  );
  principals.push(fixed("another user's expired access token", 'bearer', false, bearer(expiredToken), { user: other }));

  const loggedOut = (await sp.login(other)).accessToken;
  const logout = await sp.send({ method: 'POST', path: '/api/v1/auth/logout', headers: bearer(loggedOut) });
  if (logout.status !== 204) throw new Error(`logout: ${logout.status} ${logout.text}`);
  principals.push(fixed("another user's logged-out access token", 'bearer', false, bearer(loggedOut), { user: other }));

  const revoked = await apiToken(sp, other, apiTokenScopes);
  const revoke = await sp.send({ method: 'DELETE', path: `/api/v1/auth/tokens/${revoked.id}`, headers: bearer(other.token) });
  if (revoke.status !== 204) throw new Error(`revoke API token: ${revoke.status} ${revoke.text}`);
  principals.push(fixed("another user's revoked API token", 'bearer', false, bearer(revoked.token), { user: other }));

  let second = '';
  principals.push({
    name: 'a session ended by a password change in another session',
    kind: 'bearer',
    valid: false,
    user: changed,
    headers: () => bearer(second),
    async prepare() {
      second = (await sp.login(changed)).accessToken;
      await changePassword(sp, changed);
    },
  });

  const names = principals.map((p) => p.name);
  if (JSON.stringify(names) !== JSON.stringify(principalNames)) throw new Error(`principalNames is out of step with buildPrincipals: ${names.join(', ')}`);
  return principals;
}

/** Changes `user`'s password in its kept session (`user.token`), which must stay signed in; it toggles between two. */
export async function changePassword(sp: SecurityPlatform, user: User): Promise<void> {
  const newPassword = user.password.endsWith(' (changed)') ? user.password.slice(0, -' (changed)'.length) : `${user.password} (changed)`;
  const res = await sp.send({
    method: 'POST',
    path: '/api/v1/auth/change-password',
    headers: bearer(user.token),
    body: { currentPassword: user.password, newPassword },
  });
  if (res.status !== 204) throw new Error(`change password: ${res.status} ${res.text}`);
  user.password = newPassword;
}
