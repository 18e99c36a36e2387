/*
 * The JetStream streams tasks uses. TASKS is ours: we ensure its exact config. ALLOCATION,
 * WORKERS, WORKFLOWS and WORK belong to other services (or to no one in particular, for WORK); we create
 * them only when absent, with the same config their owners use, and never update one that
 * exists — two services "correcting" each other's stream config at every boot would flap.
 */
import { ensureStream, eventStreamConfig, workStreamConfig, type StreamSpec } from '@agentyard/messaging';
import { JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';

const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;

/** Creates the stream unless it exists (whatever its config). */
export async function ensureStreamIfAbsent(jsm: JetStreamManager, config: StreamSpec): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    return;
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== STREAM_NOT_FOUND) throw error;
  }
  try {
    await jsm.streams.add(config);
  } catch (error) {
    // Its owner created it between our info and add: theirs stands.
    if (!(error instanceof JetStreamApiError) || error.code !== STREAM_NAME_IN_USE) throw error;
  }
}

/** Ensures TASKS (ours) and, when absent, the streams we consume from. */
export async function provisionStreams(jsm: JetStreamManager): Promise<void> {
  await ensureStream(jsm, eventStreamConfig('tasks'));
  await ensureStreamIfAbsent(jsm, eventStreamConfig('allocation'));
  await ensureStreamIfAbsent(jsm, eventStreamConfig('workers'));
  await ensureStreamIfAbsent(jsm, eventStreamConfig('workflows'));
  await ensureStreamIfAbsent(jsm, workStreamConfig());
}
