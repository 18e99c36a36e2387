/*
 * Whether an attempt's checkout needs a fetch first. Pure: the manager asks the remote for the
 * few refs the task's ref can name (`git ls-remote`, one round trip and no pack negotiation) and
 * reads the same refs in its mirror; this says whether the mirror already holds exactly what a
 * fetch would leave there for them.
 *
 * Invariant: a task asking for ref X gets the remote's current X, never a stale commit. A skip is
 * allowed only when every mirror ref the lookup (`refCandidates`) could pick for X equals the
 * remote's (a ref absent on both sides counts as equal: a fetch with `--prune` would leave it
 * absent too). Anything else — a ref that moved, appeared or went, an abbreviated commit id the
 * remote does not name — fetches as before. Tested in fetch.decide.unit.spec.ts and on real git
 * in worker/test/worktree-pool.int.spec.ts.
 */
import { remoteHeadRef } from './workspace-rules';

/** A ref to ask the remote for, and where the mirror's fetch stores it. */
export interface RemoteRefQuery {
  remote: string;
  mirror: string;
}

/**
 * The refs that decide what the task's ref means, as the fetch maps them (`refs/heads/*` →
 * `refs/remotes/origin/*`, tags as they are, the remote's HEAD → `remoteHeadRef`). The agent's
 * own branches and full commit ids are looked up before any of this (no remote can change them).
 */
export function remoteRefQueries(ref: string | undefined): RemoteRefQuery[] {
  if (ref === undefined || ref === 'HEAD') return [{ remote: 'HEAD', mirror: remoteHeadRef }];
  return [
    { remote: `refs/heads/${ref}`, mirror: `refs/remotes/origin/${ref}` },
    { remote: `refs/tags/${ref}`, mirror: `refs/tags/${ref}` },
  ];
}

/** `git ls-remote` output → ref name → object id (peeled `^{}` lines are left out). */
export function parseLsRemote(text: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{40,64})\t(\S+)$/.exec(line.trim());
    if (match && !match[2]!.endsWith('^{}')) refs.set(match[2]!, match[1]!);
  }
  return refs;
}

export type FetchDecision = { fetch: false } | { fetch: true; why: 'moved' | 'not-advertised' };

/**
 * @param advertised what the remote answered (ref → id), for the queries' remote names
 * @param mirrored what the mirror holds now (mirror ref → id; a missing key = no such ref)
 */
export function decideFetch(queries: readonly RemoteRefQuery[], advertised: ReadonlyMap<string, string>, mirrored: ReadonlyMap<string, string>): FetchDecision {
  // Nothing on the remote by that name: an abbreviated commit id, or an unknown ref whose error
  // message the fetch-then-lookup path words as before.
  if (!queries.some((q) => advertised.has(q.remote))) return { fetch: true, why: 'not-advertised' };
  for (const q of queries) {
    if (advertised.get(q.remote) !== mirrored.get(q.mirror)) return { fetch: true, why: 'moved' };
  }
  return { fetch: false };
}
