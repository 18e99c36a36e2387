/*
 * The agent's NATS connection as its senders see it. nats.js (3.4) drops whatever is sent while it
 * is disconnected (each reconnect attempt resets its outbound buffer), so a report published during
 * a nats-server restart never arrives and only its ack timeout ends the wait, and a pull made then
 * never reaches the server. Senders hold back while the link is down and start again at the
 * reconnect. The services have the same in messaging's ConnectionState; the agent imports only
 * contracts, so it keeps this small copy. Tested in report-outbox.int.spec.ts and
 * worker-agent.int.spec.ts ("when NATS restarts").
 */
import type { NatsConnection } from '@nats-io/transport-node';

export class NatsLink {
  private up = true;
  /** Called at the next reconnect, then forgotten. */
  private readonly listeners = new Set<() => void>();

  /** Follows `connection` until it closes; a connection given here is taken to be up. */
  constructor(connection: Pick<NatsConnection, 'status'>) {
    void (async () => {
      for await (const status of connection.status()) {
        if (status.type === 'disconnect') this.up = false;
        if (status.type !== 'reconnect') continue;
        this.up = true;
        const listeners = [...this.listeners];
        this.listeners.clear();
        for (const listener of listeners) listener();
      }
    })().catch(() => undefined);
  }

  get connected(): boolean {
    return this.up;
  }

  /** Calls `listener` at the next reconnect (once); returns the function that forgets it. */
  onNextReconnect(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with `work`'s value, or 'reconnected' when the link comes back first; the listener is removed either way. */
  async untilReconnect<T>(work: Promise<T>): Promise<T | 'reconnected'> {
    let forget: () => void = () => undefined;
    const back = new Promise<'reconnected'>((resolve) => (forget = this.onNextReconnect(() => resolve('reconnected'))));
    try {
      return await Promise.race([work, back]);
    } finally {
      forget();
    }
  }
}
