/**
 * A lease holder's work with the service's relay in it: the relay starts first with its
 * checkpoint fenced by the holder's epoch (event-relay.ts says why its publishes need no fence),
 * then the rest of the work; on a stop, both stop at once. Every service's main hands this to its
 * lease instead of building the relay in its own start and stop.
 */
import { EventRelay, type CheckpointStore, type EventRelayOptions } from './event-relay';

export interface RelayingWorkOptions<F> {
  relay: Omit<EventRelayOptions, 'checkpoints'> & { checkpoints: { fenced(fence: F): CheckpointStore } };
  /** The rest of the holder's work, after the relay started. */
  start?: (fence: F) => Promise<void> | void;
  stop?: () => Promise<unknown>;
}

export function relayingWork<F>(options: RelayingWorkOptions<F>): { start(fence: F): Promise<void>; stop(): Promise<void> } {
  let relay: EventRelay | undefined;
  return {
    async start(fence) {
      relay = new EventRelay({ ...options.relay, checkpoints: options.relay.checkpoints.fenced(fence) });
      relay.start();
      await options.start?.(fence);
    },
    async stop() {
      await Promise.all([relay?.stop(), options.stop?.()]);
    },
  };
}
