/*
 * The agent's NATS credentials (ARCHITECTURE.md "Worker NATS credentials"): a user JWT that lets
 * it use only its own subjects, valid for a limited time (an hour by default). Invariants (tested
 * in nats-credentials.unit.spec.ts and, against a real nats-server, by the e2e suite):
 *  - every (re)connect presents the newest credentials (the authenticator reads them then);
 *  - they are renewed at three quarters of their remaining validity, and the connection is then
 *    re-established at once, so the server never sees the old JWT expire;
 *  - a refused renewal (the worker's credential was revoked) is logged with the time the NATS
 *    access ends, reported through `refused` (the agent then stops and exits), and not retried;
 *    transient failures are retried by the platform client.
 * All of it is off when the platform's NATS runs without auth (the credentials are null).
 */
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import type { WorkerNatsCredentials } from '@agentyard/contracts/agent';
import { describeError, type Logger } from '../logging/logger';
import { nativeCredsAuthenticator } from './creds-authenticator';

/**
 * Options for `connect` with `credentials`: an authenticator presenting the credentials `current()`
 * returns at each (re)connect, and the inbox prefix. Nothing when NATS runs without auth.
 */
export function natsConnectionOptions(
  credentials: WorkerNatsCredentials,
  current: () => WorkerNatsCredentials = () => credentials,
): Pick<NodeConnectionOptions, 'authenticator' | 'inboxPrefix'> {
  if (credentials.creds === null) return {};
  return {
    authenticator: nativeCredsAuthenticator(() => current().creds ?? ''),
    ...(credentials.inboxPrefix ? { inboxPrefix: credentials.inboxPrefix } : {}),
  };
}

/** Least wait before a renewal, whatever the expiry says (a clock skew must not spin). */
const MIN_RENEW_DELAY_MS = 10_000;

export class NatsCredentialsHolder {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private onRefused: (error: unknown) => void = () => undefined;
  /** Settles with the error when the platform refuses a renewal (the worker's credential was revoked). */
  readonly refused = new Promise<unknown>((resolve) => (this.onRefused = resolve));

  constructor(
    private current: WorkerNatsCredentials,
    private readonly renew: () => Promise<WorkerNatsCredentials>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the platform's NATS wants credentials. */
  get enabled(): boolean {
    return this.current.creds !== null;
  }

  /** When the credentials in use expire (null without auth). */
  get expiresAt(): string | null {
    return this.current.expiresAt;
  }

  /** Options for `connect`: an authenticator presenting the newest credentials, and the inbox prefix. */
  connectionOptions(): Pick<NodeConnectionOptions, 'authenticator' | 'inboxPrefix'> {
    return natsConnectionOptions(this.current, () => this.current);
  }

  /** Milliseconds until the next renewal is due. */
  renewalDelayMs(): number {
    const expires = this.current.expiresAt ? Date.parse(this.current.expiresAt) : Number.NaN;
    if (Number.isNaN(expires)) return MIN_RENEW_DELAY_MS;
    return Math.max(MIN_RENEW_DELAY_MS, Math.floor(((expires - this.now()) * 3) / 4));
  }

  /** Renews before expiry, reconnecting `nc` with the new credentials each time. */
  startRenewing(nc: Pick<NatsConnection, 'reconnect'>): void {
    if (!this.enabled || this.stopped) return;
    this.timer = setTimeout(() => void this.renewNow(nc), this.renewalDelayMs());
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async renewNow(nc: Pick<NatsConnection, 'reconnect'>): Promise<void> {
    try {
      const next = await this.renew();
      if (this.stopped) return;
      this.current = next;
      this.logger.info(`NATS credentials renewed, valid until ${next.expiresAt}`);
      await nc.reconnect().catch((error: unknown) => this.logger.warn(`NATS reconnect with the renewed credentials failed: ${describeError(error)}`));
      this.startRenewing(nc);
    } catch (error) {
      if (this.stopped) return;
      this.logger.error(`NATS credentials not renewed (${describeError(error)}): this worker's NATS access ends at ${this.current.expiresAt}`);
      this.onRefused(error);
    }
  }
}
