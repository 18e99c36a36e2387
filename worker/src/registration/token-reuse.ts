/*
 * `start --token T` on a machine whose state dir already holds a worker for that URL. Running on
 * with the stored identity would ignore T: the user who created T waits for a worker that never
 * appears, while the machine keeps serving the old worker — possibly another user's. Registering
 * T beside it would leave that old worker orphaned behind the same state dir. So the agent
 * refuses and says how to do either on purpose. The exception is the token that registered the
 * stored worker: a supervisor that passes the install command's `--token` on every restart must
 * keep working. Tested in token-reuse.unit.spec.ts and test/worker-agent.int.spec.ts.
 */
import type { StoredRegistration } from './credential.store';

/** `ayr_<id>.<secret>` → `ayr_<id>`: names a token without its secret. */
export function registrationTokenId(token: string): string {
  const dot = token.indexOf('.');
  return dot === -1 ? token : token.slice(0, dot);
}

/** Why `token` cannot be used with the stored registration, or undefined when it may (none given, or the one that registered it). */
export function tokenConflict(stored: StoredRegistration, token: string | undefined, storePath: string): string | undefined {
  if (!token || (stored.tokenId !== undefined && stored.tokenId === registrationTokenId(token))) return undefined;
  return (
    `--token was given, but ${storePath} already holds worker ${stored.workerId} ("${stored.name}") for ${stored.url}, ` +
    `registered ${stored.registeredAt} with ${stored.tokenId ? `another token (${stored.tokenId})` : 'an earlier token'}; the new token was not used. ` +
    'To run that worker, start without --token. ' +
    'To register this machine as a new worker with the new token, give it a state dir of its own: --state-dir <empty dir> ' +
    `(or move ${storePath} away — then revoke the old worker on the platform, since this machine no longer runs it).`
  );
}
