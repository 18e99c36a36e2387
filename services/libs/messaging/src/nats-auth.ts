/*
 * A worker's NATS credentials, minted at run time by the workers service (ARCHITECTURE.md
 * "Worker NATS credentials"). nats-server runs in operator mode (local-infra's createNatsAuth
 * sets it up): the application account carries a *scoped* signing key for workers, whose
 * permission template (contracts' workerNatsPermissions) the server applies to every user that
 * key signs, whatever the user JWT claims. So whoever holds the key can mint worker users only.
 * Invariants (tested in nats-auth.int.spec.ts against a real nats-server):
 *  - the user's name is the worker id and its `consumer:` tag its durable consumer: the two
 *    things the template substitutes;
 *  - credentials expire after `expiresInSeconds`; the server disconnects a user whose JWT expired.
 */
import { workerConsumerName, workerNatsConsumerTag } from '@agentyard/contracts';
import { Algorithms, encodeUser, fmtCreds } from '@nats-io/jwt';
import { createUser, fromSeed } from '@nats-io/nkeys';

/** Credentials file content (user JWT + seed) for worker `workerId`, and when they expire. */
export async function issueWorkerCreds(options: {
  accountPublicKey: string;
  workerSigningSeed: string;
  workerId: string;
  expiresInSeconds: number;
  now?: Date;
}): Promise<{ creds: string; expiresAt: string }> {
  const signer = fromSeed(new TextEncoder().encode(options.workerSigningSeed));
  const user = createUser();
  const exp = Math.floor((options.now ?? new Date()).getTime() / 1000) + options.expiresInSeconds;
  const claims = { issuer_account: options.accountPublicKey, tags: [`${workerNatsConsumerTag}:${workerConsumerName(options.workerId)}`] };
  const jwt = await encodeUser(options.workerId, user, options.accountPublicKey, claims, { algorithm: Algorithms.v2, signer, scopedUser: true, exp });
  return { creds: new TextDecoder().decode(fmtCreds(jwt, user)), expiresAt: new Date(exp * 1000).toISOString() };
}
