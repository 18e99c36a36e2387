/** WorkerNatsIssuer over messaging's operator-mode auth: users signed by the workers' scoped key. */
import { workerInboxPrefix } from '@agentyard/contracts';
import { issueWorkerCreds } from '@agentyard/messaging';
import type { WorkerNatsIssuer } from '../application/issue-nats-credentials.handler';

export class ScopedKeyWorkerNatsIssuer implements WorkerNatsIssuer {
  constructor(private readonly options: { accountPublicKey: string; workerSigningSeed: string; ttlSeconds: number }) {}

  issue(workerId: string): Promise<{ creds: string; expiresAt: string }> {
    const { accountPublicKey, workerSigningSeed, ttlSeconds } = this.options;
    return issueWorkerCreds({ accountPublicKey, workerSigningSeed, workerId, expiresInSeconds: ttlSeconds });
  }

  inboxPrefix(workerId: string): string {
    return workerInboxPrefix(workerId);
  }
}
