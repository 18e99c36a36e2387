/*
 * NATS operator mode (decentralized JWT auth, nats-server 2.9) for the platform: an operator, a
 * system account, and the application account with every permission for the services' user and
 * a scoped signing key for workers (contracts' workerNatsPermissions is its template; messaging's
 * issueWorkerCreds mints worker users with it). The server knows only the operator and the two
 * accounts (memory resolver, preloaded): users are never registered with it. Used by
 * startPlatform, `npm start` and infra/scripts/nats-auth.mjs (production config).
 */
import { workerNatsPermissions } from '@agentyard/contracts';
import { Algorithms, encodeAccount, encodeOperator, encodeUser, fmtCreds, newScopedSigner } from '@nats-io/jwt';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';

/** Role name of the workers' scoped signing key. */
const WORKER_ROLE = 'agentyard-worker';

/** The platform's NATS auth; secrets (seeds) included, so keep it like a key. */
export interface NatsAuthSetup {
  /** nats-server configuration lines for operator mode (append to the server's config). */
  serverConfig: string;
  /** Credentials file content (JWT + seed) for the platform's services: every permission. */
  serviceCreds: string;
  /** Public key of the application account (the workers service's WORKER_NATS_ACCOUNT). */
  accountPublicKey: string;
  /** Seed of the account's scoped signing key for workers (WORKER_NATS_SIGNING_SEED). */
  workerSigningSeed: string;
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
      limits: {
        disk_storage: -1,
        mem_storage: -1,
        streams: -1,
        consumer: -1,
        subs: -1,
        data: -1,
        payload: -1,
        imports: -1,
        exports: -1,
        wildcards: true,
        conn: -1,
        leaf: -1,
      },
      signing_keys: [newScopedSigner(workerSigner, WORKER_ROLE, workerNatsPermissions())],
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
