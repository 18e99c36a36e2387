/*
 * Allocation decisions (stream `allocation-<taskId>`): every candidate with its filter verdict
 * and scores, so "why did this worker get it?" is answerable from the record alone (brief §7).
 */
import { z } from 'zod';
import { text } from '../common/text';
import { querySubject } from '../common/subjects';
import { defineEvent, EventRegistry } from '../common/versioning';

/** Weights of the score components (brief §7). They sum to 1. */
export const scoreWeights = { match: 0.4, availability: 0.3, balance: 0.2, affinity: 0.1 } as const;

export const candidateSchema = z.object({
  workerId: text(),
  eligible: z.boolean(),
  /** Why a worker was filtered out, e.g. "offline", "lacks tool shell". Empty when eligible. */
  rejectedBecause: z.array(text()),
  /** Each component in [0, 1]; total = weighted sum in [0, 1]. Zeroes when not eligible. */
  scores: z.object({ match: z.number(), availability: z.number(), balance: z.number(), affinity: z.number(), total: z.number() }),
});
export type Candidate = z.infer<typeof candidateSchema>;

/**
 * Stable start of the permission filter's reason: the task's owner has no role on the worker.
 * Such candidates are the platform's other workers, which are none of the owner's business.
 */
export const notAllowedForOwner = "not allowed for the task's owner";

/**
 * The candidates a task's owner may see: every worker but those rejected because the owner has no
 * role on them (their ids, scores and reasons are other users' business). The stored event keeps
 * them all for auditors; the HTTP decision and the live WebSocket both show only these.
 */
export function candidatesVisibleToOwner(candidates: readonly Candidate[]): Candidate[] {
  return candidates.filter((c) => !c.rejectedBecause.some((r) => r.startsWith(notAllowedForOwner)));
}

export const allocationDecidedV1 = defineEvent(
  'AllocationDecided',
  1,
  z.object({ allocationId: text(), taskId: text(), attempt: z.number().int(), workerId: text(), candidates: z.array(candidateSchema) }),
);
/** No eligible worker right now: the task waits and is retried when a worker appears or frees up. */
export const allocationDeferredV1 = defineEvent(
  'AllocationDeferred',
  1,
  z.object({ taskId: text(), attempt: z.number().int(), candidates: z.array(candidateSchema) }),
);

export const allocationEvents = new EventRegistry().register(allocationDecidedV1, allocationDeferredV1);

export const allocationViewSchema = z
  .object({ taskId: text(), attempt: z.number().int(), workerId: text().nullable(), decidedAt: text(), candidates: z.array(candidateSchema) })
  .meta({ id: 'AllocationDecision' });
export type AllocationView = z.infer<typeof allocationViewSchema>;

export const allocationSubjects = {
  /** The latest decision for a task: `{ actor, taskId }` → AllocationView (404 when none or not the actor's). */
  getDecision: querySubject('allocation', 'GetAllocation'),
} as const;
