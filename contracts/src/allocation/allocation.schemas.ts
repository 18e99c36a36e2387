/*
 * Allocation decisions (stream `allocation-<taskId>`): the best few candidates with their filter
 * verdict and scores, and every other worker counted by the stable part of its reasons, so "why
 * did this worker get it?" and "why is my task waiting?" are answerable from the record alone
 * (brief §7) without a row per registered worker (issue #14: 2,000 mostly offline workers made
 * every decision 2,000 entries). Version 1 listed every worker as a candidate; it still reads
 * (upcast with no counted workers).
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
 * Workers of a decision that are not listed as candidates, counted by the stable part (before
 * ':') of their reasons, e.g. `{ reasons: ['offline'], count: 1995 }`. An eligible worker that did
 * not make the list has `reasons: []`.
 */
export const countedCandidatesSchema = z.object({ reasons: z.array(text()), count: z.number().int().positive() });
export type CountedCandidates = z.infer<typeof countedCandidatesSchema>;

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

/**
 * A decision's candidates and counted workers as the task's owner may see them: candidates the
 * owner has no role on are left out (candidatesVisibleToOwner), and every such worker, listed or
 * counted, is folded into one count `{ reasons: [notAllowedForOwner], count }` ("N workers you
 * cannot use") that says nothing else about them.
 */
export function allocationVisibleToOwner(data: { candidates: readonly Candidate[]; others?: readonly CountedCandidates[] }): {
  candidates: Candidate[];
  others: CountedCandidates[];
} {
  const candidates = candidatesVisibleToOwner(data.candidates);
  const notUsable = (c: CountedCandidates) => c.reasons.some((r) => r.startsWith(notAllowedForOwner));
  const others = (data.others ?? []).filter((c) => !notUsable(c));
  const hidden = data.candidates.length - candidates.length + (data.others ?? []).filter(notUsable).reduce((sum, c) => sum + c.count, 0);
  return { candidates, others: hidden > 0 ? [...others, { reasons: [notAllowedForOwner], count: hidden }] : others };
}

/** v1: every registered worker as a candidate. */
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
/** v2: the best few candidates (the chosen one and a pinned one among them), the other workers counted. */
export const allocationDecidedV2 = defineEvent(
  'AllocationDecided',
  2,
  z.object({
    allocationId: text(),
    taskId: text(),
    attempt: z.number().int(),
    workerId: text(),
    candidates: z.array(candidateSchema),
    others: z.array(countedCandidatesSchema),
  }),
);
export const allocationDeferredV2 = defineEvent(
  'AllocationDeferred',
  2,
  z.object({ taskId: text(), attempt: z.number().int(), candidates: z.array(candidateSchema), others: z.array(countedCandidatesSchema) }),
);

/** A v1 record listed every worker as a candidate, so nothing was counted. */
const withNoneCounted = (data: Record<string, unknown>) => ({ ...data, others: [] });

export const allocationEvents = new EventRegistry()
  .register(allocationDecidedV1, allocationDeferredV1, allocationDecidedV2, allocationDeferredV2)
  .upcast('AllocationDecided', 1, withNoneCounted)
  .upcast('AllocationDeferred', 1, withNoneCounted);

export const allocationViewSchema = z
  .object({
    taskId: text(),
    attempt: z.number().int(),
    workerId: text().nullable(),
    decidedAt: text(),
    candidates: z.array(candidateSchema),
    /**
     * Workers not listed, counted by reason (those the owner has no role on as one
     * `notAllowedForOwner` count). Defaults to none: an allocation replica of the build before
     * (a rolling update) answers without it.
     */
    others: z.array(countedCandidatesSchema).default([]),
  })
  .meta({ id: 'AllocationDecision' });
export type AllocationView = z.infer<typeof allocationViewSchema>;

export const allocationSubjects = {
  /** The latest decision for a task: `{ actor, taskId }` → AllocationView (404 when none or not the actor's). */
  getDecision: querySubject('allocation', 'GetAllocation'),
} as const;
