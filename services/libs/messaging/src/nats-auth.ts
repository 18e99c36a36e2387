/*
 * NATS decentralized auth (operator mode, JWTs) for nats-server 2.9: the platform's services get
 * one account with every permission; each worker agent gets a user that can touch only its own
 * subjects (brief §10: "Workers receive NATS credentials that let them use only their own
 * subjects"). Without it, any machine running an agent could read every task's input from
 * `work.assign.>` and publish forged events onto the platform's streams.
 *
 * Invariants (tested in nats-auth.int.spec.ts against a real nats-server):
 *  - the server knows only the operator and the two accounts (memory resolver, preloaded); users
 *    are never registered with it — a user JWT is valid when the account, or one of its signing
 *    keys, signed it;
 *  - worker users are signed only by the account's *scoped* signing key for workers: the server
 *    applies that key's permission template (subjects templated by the user's name = the worker
 *    id), whatever the user JWT itself claims. So the workers service, which holds that key,
 *    cannot mint a worker user with more rights than a worker has, even by mistake;
 *  - worker credentials expire (`expiresInSeconds`); the server disconnects a user whose JWT
 *    expired, so revoking a worker's platform credential (which stops it refreshing) ends its NATS
 *    access within that time;
 *  - a worker's request replies come to `_INBOX.<workerId>.>` (the agent sets that inbox
 *    prefix): it may subscribe there and to no other subject.
 */
import { workerConsumerName, workStream } from '@agentyard/contracts';
import { Algorithms, encodeAccount, encodeOperator, encodeUser, fmtCreds, newScopedSigner } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromSeed } from '@nats-io/nkeys';

/** Stream holding work orders and reports. */
const WORK_STREAM = workStream.name;

/** Role name of the workers' scoped signing key. */
const WORKER_ROLE = 'agentyard-worker';

/** What the platform's NATS auth consists of; secrets (seeds) included, so keep it like a key. */
export interface NatsAuthSetup {
  /** nats-server configuration lines for operator mode (append to the server's config). */
  serverConfig: string;
  /** Credentials file content (JWT + seed) for the platform's services: every permission. */
  serviceCreds: string;
  /** Public key of the application account (workers' users belong to it). */
  accountPublicKey: string;
  /** Seed of the account's scoped signing key for workers (the workers service issues with it). */
  workerSigningSeed: string;
}

/**
 * The subjects a worker may use, with `{{name()}}` standing for its worker id and
 * `{{tag(consumer)}}` for its durable consumer `worker-<id>` (2.9 substitutes whole subject
 * tokens only, so `worker-{{name()}}` would stay literal): its own heartbeat, reports and live
 * output; pulling and acking its own consumer on WORK; and replies on its own inbox prefix.
 */
export function workerPermissions(): { pub: { allow: string[] }; sub: { allow: string[] } } {
  const durable = '{{tag(consumer)}}';
  return {
    pub: {
      allow: [
        'work.heartbeat.{{name()}}',
        'work.report.{{name()}}',
        'work.output.>',
        `$JS.API.CONSUMER.INFO.${WORK_STREAM}.${durable}`,
        `$JS.API.CONSUMER.MSG.NEXT.${WORK_STREAM}.${durable}`,
        `$JS.ACK.${WORK_STREAM}.${durable}.>`,
      ],
    },
    sub: { allow: ['_INBOX.{{name()}}.>'] },
  };
}

/** The inbox prefix a worker's connection must use (its replies arrive under it). */
export function workerInboxPrefix(workerId: string): string {
  return `_INBOX.${workerId}`;
}

/** Creates an operator, a system account and the application account, with their config. */
export async function createNatsAuth(): Promise<NatsAuthSetup> {
  const operator = createOperator();
  const system = createAccount();
  const app = createAccount();
  const workerSigner = createAccount(); // signing keys are account-type nkeys
  const opts = { algorithm: Algorithms.v2 };
  const operatorJwt = await encodeOperator('agentyard', operator, { system_account: system.getPublicKey() }, opts);
  const systemJwt = await encodeAccount('SYS', system, {}, { ...opts, signer: operator });
  const appJwt = await encodeAccount(
    'AGENTYARD',
    app,
    {
      // Operator mode enables JetStream per account, by giving it limits (-1 = unlimited).
      limits: { disk_storage: -1, mem_storage: -1, streams: -1, consumer: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 },
      signing_keys: [newScopedSigner(workerSigner, WORKER_ROLE, workerPermissions())],
    },
    { ...opts, signer: operator },
  );
  const service = createUser();
  const serviceJwt = await encodeUser('agentyard-services', service, app, {}, opts);
  const serverConfig = [
    `operator: ${operatorJwt}`,
    `system_account: ${system.getPublicKey()}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${system.getPublicKey()}: ${systemJwt}`,
    `  ${app.getPublicKey()}: ${appJwt}`,
    '}',
  ].join('\n');
  return {
    serverConfig,
    serviceCreds: new TextDecoder().decode(fmtCreds(serviceJwt, service)),
    accountPublicKey: app.getPublicKey(),
    workerSigningSeed: new TextDecoder().decode(workerSigner.getSeed()),
  };
}

/**
 * Credentials file content for worker `workerId`, valid `expiresInSeconds`: a user of the
 * application account signed by the workers' scoped signing key (whose template, not this JWT,
 * sets its permissions).
 */
export async function issueWorkerCreds(options: { accountPublicKey: string; workerSigningSeed: string; workerId: string; expiresInSeconds: number; now?: Date }): Promise<{ creds: string; expiresAt: string }> {
  const signer = fromSeed(new TextEncoder().encode(options.workerSigningSeed));
  const user = createUser();
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const exp = now + options.expiresInSeconds;
  const claims = { issuer_account: options.accountPublicKey, tags: [`consumer:${workerConsumerName(options.workerId)}`] };
  const jwt = await encodeUser(options.workerId, user, options.accountPublicKey, claims, { algorithm: Algorithms.v2, signer, scopedUser: true, exp });
  return { creds: new TextDecoder().decode(fmtCreds(jwt, user)), expiresAt: new Date(exp * 1000).toISOString() };
}
