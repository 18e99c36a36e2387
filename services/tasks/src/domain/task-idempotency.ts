/*
 * Idempotent creation (POST /tasks with an `Idempotency-Key`). The key does not go into a table:
 * it names the task. The task's id is derived from the owner and the key, so the event store's
 * stream of that id is the one place that says whether the key was used — two racing retries
 * append to the same stream, one wins, the other's VersionConflict decides again and finds the
 * task. The request is remembered as a hash in TaskCreated: the same key with another request is
 * refused (409), as Stripe and the IETF draft do, rather than silently answering with a task the
 * client did not ask for. Keys never expire (a stream is forever); a key is per user, so two
 * users' equal keys name different tasks.
 */
import { createHash } from 'node:crypto';
import type { CreateTaskBody } from '@agentyard/contracts';

/** The task id `ownerId`'s `key` names: a UUID (version 8, RFC 9562's custom layout) from SHA-256. */
export function keyedTaskId(ownerId: string, key: string): string {
  const bytes = createHash('sha256').update(`agentyard:task-idempotency-key\u0000${ownerId}\u0000${key}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122/9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A hash of the request as validated (defaults applied), independent of its keys' order. */
export function requestHashOf(task: CreateTaskBody): string {
  return createHash('sha256').update(canonicalJson(task)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
