/*
 * The JetStream streams the workflows service uses: WORKFLOWS is ours (we ensure its exact
 * config); TASKS belongs to the tasks service and is created only when absent, with its owner's
 * config, so a fresh start in any order works and two services never "correct" each other.
 */
import { ensureStream, ensureStreamIfAbsent, eventStreamConfig } from '@agentyard/messaging';
import type { JetStreamManager } from '@nats-io/jetstream';

export async function provisionStreams(jsm: JetStreamManager): Promise<void> {
  await ensureStream(jsm, eventStreamConfig('workflows'));
  await ensureStreamIfAbsent(jsm, eventStreamConfig('tasks'));
}
