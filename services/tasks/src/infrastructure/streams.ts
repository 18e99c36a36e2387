/*
 * The JetStream streams tasks uses. TASKS is ours: we ensure its exact config. ALLOCATION,
 * WORKERS, WORKFLOWS and WORK belong to other services (or to no one in particular, for WORK); we create
 * them only when absent, with the same config their owners use, and never update one that
 * exists — two services "correcting" each other's stream config at every boot would flap.
 */
import { ensureStream, ensureStreamIfAbsent, eventStreamConfig, workStreamConfig } from '@agentyard/messaging';
import type { JetStreamManager } from '@nats-io/jetstream';

/** Ensures TASKS (ours) and, when absent, the streams we consume from. */
export async function provisionStreams(jsm: JetStreamManager): Promise<void> {
  await ensureStream(jsm, eventStreamConfig('tasks'));
  await ensureStreamIfAbsent(jsm, eventStreamConfig('allocation'));
  await ensureStreamIfAbsent(jsm, eventStreamConfig('workers'));
  await ensureStreamIfAbsent(jsm, eventStreamConfig('workflows'));
  await ensureStreamIfAbsent(jsm, workStreamConfig());
}
