/*
 * Where a task runs: filter, then score (brief §7). Pure — the caller hands in the task, a
 * snapshot of the workers that could take work (registered, online, not revoked, not drained:
 * `isAvailable`) with their registration facts, latest heartbeat and the tasks allocation knows
 * are placed on them, the other workers only as counts by reason (`context.unavailable`, read
 * with a count query), and the clock. So a fleet of 2,000 mostly offline workers costs a decision
 * what its online workers cost (issue #14).
 *
 * Invariants (tested in allocation.decide.unit.spec.ts):
 *  - every worker handed in is assessed; an ineligible one lists each failed filter in
 *    `rejectedBecause` and scores zero. The outcome lists the best TOP_CANDIDATES of them (eligible
 *    by total, then the ineligible the owner may use, fewest reasons first), always with the
 *    chosen worker and the one a task is pinned to (requirements.workerId, or the worker holding
 *    its branch or session); every other worker, handed in or counted, is in `others`, counted by
 *    the stable part of its reasons — a record holds a few entries, not one per worker;
 *  - a slot is never handed out twice between heartbeats: tasks placed on a worker count against
 *    its slots until a heartbeat shows them running or done with (see `capacityOf`);
 *  - the winner is the eligible candidate with the highest total, ties broken by the smallest
 *    worker id, so the same inputs always pick the same worker;
 *  - a rejection reason is `<stable text>[: <details>]`; the stable part alone is the "candidate
 *    picture" that decides whether a new deferral is worth recording (`candidatePicture`);
 *  - a task some worker would take but for its busy slots is waiting its turn, not stuck
 *    (`waitsOnlyForASlot`): allocation records no deferral for it;
 *  - anti-affinity: a task whose `requirements.antiAffinity` names a group never goes to a worker
 *    that holds or has run another task of that group (`groupWorkers`, which the caller keeps
 *    current within a pass, so two tasks of a group decided in one pass part ways too).
 *  - a worker whose agent does not isolate tasks (heartbeat `isolation` none or absent) gets only
 *    tasks of its owners: a shared user's task there could read the worker's credential.
 *  - a task goes only to a worker whose tool is present AND healthy: one its agent reports
 *    unhealthy (its key refused, its API unreachable) is skipped with the agent's reason
 *    (`<tool> unhealthy: <detail>`). An entry without health (an older agent's) counts as healthy.
 *  - a task naming a model goes only to a worker whose tool offers it, when the tool reports
 *    its models (`model <m> is not offered by <tool> on <worker>`); a tool without a list (the
 *    CLIs, an older agent, a list too long to report) is not judged on it.
 *  - a task continuing an earlier attempt's workspace branch (`context.checkout`) whose branch was
 *    not pushed goes only to the worker that ran that attempt (the branch is in its mirror and
 *    nowhere else): every other worker is rejected `branch <b> is only on worker <name>`, and
 *    while that worker is offline the task waits. A pushed branch goes anywhere, that worker
 *    preferred (affinity 1; the others' owner affinity is capped at CHECKOUT_ELSEWHERE_AFFINITY) —
 *    unless the task resumes that attempt's tool session (`resumeSession`): the session is kept
 *    with the attempt's worktree on that worker only, so the task goes there, pushed or not
 *    (`session of <b> is kept only on worker <name>`), and waits while it is offline.
 */
import {
  notAllowedForOwner,
  scoreWeights,
  type Candidate,
  type CountedCandidates,
  type Heartbeat,
  type TaskRequirements,
  type ToolName,
  type WorkerResources,
  type WorkerTool,
} from '@agentyard/contracts';

/** The task to place, as allocation knows it from TaskCreated / TaskQueued. */
export interface TaskToPlace {
  taskId: string;
  attempt: number;
  ownerId: string;
  tool: ToolName;
  requirements: TaskRequirements;
  /** The model the task's input names (prompt tools), if any. */
  model: string | null;
}

/** A task allocation knows is placed on a worker, from its own decision or the tasks service's events. */
export interface PlacedTask {
  taskId: string;
  attempt: number;
  /** decided = allocation chose the worker; assigned = TaskAssigned; running = TaskStarted. */
  stage: 'decided' | 'assigned' | 'running';
  /** When it reached that stage (ISO 8601). */
  since: string;
}

/** Everything allocation knows about one worker at decision time. */
export interface WorkerSnapshot {
  workerId: string;
  /** Its registered name, for reasons a user reads (the id when unknown). */
  name?: string | null;
  /** False until WorkerRegistered was seen (only a partial row exists). */
  registered: boolean;
  ownerId: string | null;
  /** userId → role on this worker (the owner is listed as 'owner'). */
  roles: Readonly<Record<string, 'owner' | 'user'>>;
  tools: readonly WorkerTool[];
  labels: readonly string[];
  /** Slots from registration; a heartbeat's `slots.total` supersedes it. */
  slots: number;
  resources: WorkerResources | null;
  online: boolean;
  drained: boolean;
  revoked: boolean;
  /** Latest heartbeat from the liveness bucket, or null before the first one. */
  heartbeat: Heartbeat | null;
  /** Tasks placed on this worker that have not finished, as far as allocation knows. */
  placed: readonly PlacedTask[];
  /**
   * `taskId#attempt` of the heartbeat's running tasks that allocation has since seen finish: their
   * slots are free although the heartbeat (up to one interval old) still lists them.
   */
  finishedSinceHeartbeat?: ReadonlySet<string>;
}

export interface AllocationContext {
  now: Date;
  /** workerId → how many of the task owner's tasks were placed there recently (affinity). */
  recentTasksOfOwner: ReadonlyMap<string, number>;
  /**
   * Workers that hold (decided, assigned, running) or have run another task of the task's
   * anti-affinity group (`workersOfGroup`). Read only for a task that names a group.
   */
  groupWorkers?: ReadonlySet<string>;
  /**
   * The earlier attempt's workspace branch the task starts from, when the task's owner owns that
   * task and allocation knows which worker ran the attempt (else the ref is a plain one).
   */
  checkout?: Checkout;
  /**
   * The workers not handed in (not `isAvailable`), counted by their reasons for this task's owner
   * (`unavailableReasons`). A worker handed in anyway (one the task is pinned to) is taken out of
   * its count here, so it is not counted twice.
   */
  unavailable?: readonly CountedCandidates[];
}

/** Where a follow-up's base branch lives: the worker that ran the attempt, and whether it pushed it. */
export interface Checkout {
  /** `agentyard/<taskId>-<attempt>`. */
  branch: string;
  workerId: string;
  pushed: boolean;
  /** The task resumes that attempt's tool session (`resumeSession`), kept on that worker only. */
  session?: boolean;
}

/** Where a task of an anti-affinity group is or was last placed (the task repository's `groupPlacements`). */
export interface GroupPlacement {
  taskId: string;
  workerId: string;
}

/** The workers `taskId` must avoid: those holding or having run another task of its group. */
export function workersOfGroup(placements: readonly GroupPlacement[], taskId: string): Set<string> {
  return new Set(placements.filter((p) => p.taskId !== taskId).map((p) => p.workerId));
}

/**
 * `candidates`: the best few, in worker id order; `others`: every other worker, counted by the
 * stable part of its reasons (an eligible one that did not make the list has none).
 */
export type AllocationOutcome =
  | { kind: 'decided'; workerId: string; candidates: Candidate[]; others: CountedCandidates[] }
  | { kind: 'deferred'; candidates: Candidate[]; others: CountedCandidates[] };

/** How many candidates a decision lists with scores and full reasons (plus the chosen and a pinned one). */
export const TOP_CANDIDATES = 5;

/** Stable part of the capacity filter's reason. */
export const NO_FREE_SLOT = 'no free slot';

/** Stable part of the anti-affinity filter's reason. */
export const ANTI_AFFINITY = 'anti-affinity';

/** Stable part of the permission filter's reason (the task owner's view hides such candidates: contracts' candidatesVisibleToOwner). */
export const NOT_ALLOWED = notAllowedForOwner;
/** Stable part of the tool health filter's reason is `<tool> unhealthy` (the tool named, as in `lacks tool <tool>`). */
export const UNHEALTHY = 'unhealthy';
/** Stable part of the isolation filter's reason: a shared user's task on a worker that runs tasks unisolated. */
export const NOT_ISOLATED = 'not isolated';
/** Affinity, at most, of a worker other than the one holding a pushed branch the task continues. */
export const CHECKOUT_ELSEWHERE_AFFINITY = 0.5;
/** A decision not confirmed by TaskAssigned within this long stops holding a slot. */
export const DECISION_HOLD_MS = 60_000;
/** Affinity counts the owner's tasks placed on a worker within this window… */
export const AFFINITY_WINDOW_MS = 15 * 60_000;
/** …and saturates at this many. */
export const AFFINITY_SATURATION = 3;
/** Availability share assumed for CPU or memory when no heartbeat reported it yet. */
export const UNKNOWN_SHARE = 0.5;

export interface Capacity {
  total: number;
  /** Running per the heartbeat (slots.used, at least its running list). */
  reportedRunning: number;
  /** Tasks placed on the worker that its heartbeat does not show running yet. */
  unconfirmed: number;
  free: number;
}

/**
 * Slot accounting: free = total − reported running − placed tasks the heartbeat does not show.
 * Reported running = the heartbeat's running tasks, less those allocation has seen finish since
 * (else a heartbeat taken at a busy moment would hold every slot it saw for a whole interval),
 * plus any used slots the heartbeat does not list.
 * A placed task stops counting as "unconfirmed" when
 *  - the heartbeat lists it (it is then in the reported figure), or
 *  - it finishes (the caller drops it from `placed` on the terminal event), or
 *  - it is running and a heartbeat sent after it started no longer lists it: the worker is done
 *    with it (both instants come from the worker's clock), so a heartbeat alone frees the slot, or
 *  - it is a bare decision that TaskAssigned did not confirm within DECISION_HOLD_MS.
 * So a task started after the latest heartbeat keeps its slot until a heartbeat shows it.
 */
export function capacityOf(worker: Pick<WorkerSnapshot, 'slots' | 'heartbeat' | 'placed' | 'finishedSinceHeartbeat'>, now: Date): Capacity {
  const hb = worker.heartbeat;
  const total = hb ? hb.slots.total : worker.slots;
  const done = worker.finishedSinceHeartbeat;
  const stillRunning = (hb?.running ?? []).filter((r) => !done?.has(`${r.taskId}#${r.attempt}`));
  const running = new Set(stillRunning.map((r) => r.taskId));
  const reportedRunning = hb ? stillRunning.length + Math.max(0, hb.slots.used - hb.running.length) : 0;
  const holdsSlot = (p: PlacedTask): boolean => {
    if (running.has(p.taskId)) return false;
    if (p.stage === 'running') return !(hb && Date.parse(hb.sentAt) > Date.parse(p.since));
    if (p.stage === 'decided') return now.getTime() - Date.parse(p.since) <= DECISION_HOLD_MS;
    return true;
  };
  const unconfirmed = worker.placed.filter(holdsSlot).length;
  return { total, reportedRunning, unconfirmed, free: Math.max(0, total - reportedRunning - unconfirmed) };
}

/** Free memory: the heartbeat's figure when there is one, else the registered total. */
function freeMemoryMb(worker: WorkerSnapshot): number | null {
  if (worker.heartbeat) return Math.max(0, worker.heartbeat.memTotalMb - worker.heartbeat.memUsedMb);
  return worker.resources?.memoryMb ?? null;
}

function freeDiskMb(worker: WorkerSnapshot): number | null {
  if (worker.heartbeat) return worker.heartbeat.diskFreeMb;
  return worker.resources?.diskMb ?? null;
}

const shown = (n: number | null, unit = ''): string => (n === null ? 'unknown' : `${n}${unit}`);

const noWorkers: ReadonlySet<string> = new Set();

/** How reasons name a worker: its registered name, else its id. */
export const workerLabel = (worker: Pick<WorkerSnapshot, 'workerId' | 'name'>): string => worker.name ?? worker.workerId;

/** Whether a tool's model list has `model`; Ollama lists `name:tag`, and a bare name means `:latest`. */
export function offersModel(models: readonly string[], model: string): boolean {
  return models.includes(model) || (!model.includes(':') && models.includes(`${model}:latest`));
}

/** The worker holding an unpushed branch (or a resumed session), as the other workers' reason names it. */
export interface BranchHolder {
  branch: string;
  /** The task resumes the attempt's session, which only that worker keeps. */
  session?: boolean;
  workerId: string;
  /** Its name (its id when the worker is unknown here), and whether it can take the task now. */
  label: string;
  online: boolean;
}

/** The filters of brief §7, and anti-affinity; returns every failed one as a human-readable reason. */
export function rejectionsOf(
  task: TaskToPlace,
  worker: WorkerSnapshot,
  capacity: Capacity,
  groupWorkers: ReadonlySet<string> = noWorkers,
  branchHolder?: BranchHolder,
): string[] {
  const reasons: string[] = [];
  const req = task.requirements;
  if (!worker.registered) reasons.push('not registered');
  if (!worker.online) reasons.push('offline');
  if (worker.revoked) reasons.push('credential revoked');
  if (worker.drained) reasons.push('drained');
  else if (worker.heartbeat?.draining) reasons.push('draining');
  const tool = worker.tools.find((t) => t.name === task.tool);
  if (!tool) reasons.push(`lacks tool ${task.tool}`);
  else if (tool.health === 'unhealthy') reasons.push(`${task.tool} ${UNHEALTHY}: ${unhealthyBecause(tool)}`);
  if (tool && task.model !== null && Array.isArray(tool.models) && !offersModel(tool.models, task.model)) {
    // The worker after the colon: the stable part is the same on every worker, so they count together.
    reasons.push(`model ${task.model} is not offered by ${task.tool}: ${workerLabel(worker)} does not list it`);
  }
  if (branchHolder && branchHolder.workerId !== worker.workerId) {
    // The stable part (before ':') stays the same while the holder comes and goes; its own candidate says offline.
    const what = branchHolder.session ? `session of ${branchHolder.branch} is kept` : `branch ${branchHolder.branch} is`;
    reasons.push(`${what} only on worker ${branchHolder.label}${branchHolder.online ? '' : ': it is offline, the task waits for it'}`);
  }
  if (capacity.free <= 0) {
    const waiting = capacity.unconfirmed > 0 ? `, ${capacity.unconfirmed} of them placed and not yet running` : '';
    reasons.push(`${NO_FREE_SLOT}: ${capacity.reportedRunning + capacity.unconfirmed} of ${capacity.total} in use${waiting}`);
  }
  if (req.minCpus !== undefined && !(worker.resources && worker.resources.cpus >= req.minCpus)) {
    reasons.push(`too few CPUs: ${shown(worker.resources?.cpus ?? null)} < ${req.minCpus} required`);
  }
  if (req.minMemoryMb !== undefined) {
    const free = freeMemoryMb(worker);
    if (free === null || free < req.minMemoryMb) reasons.push(`not enough free memory: ${shown(free, ' MB')} free, ${req.minMemoryMb} MB required`);
  }
  if (req.minDiskMb !== undefined) {
    const free = freeDiskMb(worker);
    if (free === null || free < req.minDiskMb) reasons.push(`not enough free disk: ${shown(free, ' MB')} free, ${req.minDiskMb} MB required`);
  }
  const missing = (req.labels ?? []).filter((l) => !worker.labels.includes(l));
  if (missing.length > 0) reasons.push(`missing labels: ${missing.join(', ')}`);
  if (req.workerId !== undefined && req.workerId !== worker.workerId) reasons.push(`pinned to another worker: ${req.workerId}`);
  if (req.antiAffinity !== undefined && groupWorkers.has(worker.workerId)) reasons.push(`${ANTI_AFFINITY}: already has a task of group ${req.antiAffinity}`);
  if (!mayUse(task.ownerId, worker)) reasons.push(`${NOT_ALLOWED}: no role on this worker`);
  else if (!ownsIt(task.ownerId, worker) && !isolatesTasks(worker)) {
    reasons.push(`${NOT_ISOLATED}: its agent runs tasks without isolation (${worker.heartbeat?.isolation ?? 'not reported'}), so only its owners' tasks`);
  }
  return reasons;
}

/** What the agent said about an unhealthy tool, else what its auth verdict implies. */
function unhealthyBecause(tool: WorkerTool): string {
  if (tool.detail) return tool.detail;
  if (tool.auth === 'refused') return 'key refused';
  if (tool.auth === 'missing') return 'no key configured';
  return 'its check failed';
}

/**
 * A worker whose agent isolates tasks from itself and from each other (its latest heartbeat says
 * bubblewrap or task-user). Anything else — `none`, or an agent too old to say — could hand a
 * task the worker's credential and other tasks' files, so it takes only its owners' tasks.
 */
export function isolatesTasks(worker: Pick<WorkerSnapshot, 'heartbeat'>): boolean {
  const isolation = worker.heartbeat?.isolation;
  return isolation === 'bubblewrap' || isolation === 'task-user';
}

/** The worker's owner, or a user granted the role owner. */
function ownsIt(userId: string, worker: Pick<WorkerSnapshot, 'ownerId' | 'roles'>): boolean {
  return worker.ownerId === userId || worker.roles[userId] === 'owner';
}

/** The owner of a worker, and anyone granted a role on it, may run tasks there. */
export function mayUse(userId: string, worker: Pick<WorkerSnapshot, 'ownerId' | 'roles'>): boolean {
  return worker.ownerId === userId || worker.roles[userId] === 'owner' || worker.roles[userId] === 'user';
}

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));
const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

/**
 * match ∈ [0,1] = 0.6 (tool present) + 0.2 × (its version is known) + 0.2 × preference, where
 * preference is the share of the task's preferences the worker meets: the model its input names
 * (worker label `model:<name>`) and its required labels; 1 when the task states none.
 */
export function matchScore(task: TaskToPlace, worker: WorkerSnapshot): number {
  const tool = worker.tools.find((t) => t.name === task.tool);
  if (!tool) return 0;
  const versionKnown = tool.version !== null && tool.version !== '' ? 1 : 0;
  const wanted = [...(task.model ? [`model:${task.model}`] : []), ...(task.requirements.labels ?? [])];
  const preference = wanted.length === 0 ? 1 : wanted.filter((l) => worker.labels.includes(l)).length / wanted.length;
  return 0.6 + 0.2 * versionKnown + 0.2 * preference;
}

/**
 * availability ∈ [0,1] = mean of free CPU share (1 − cpuPercent/100), free memory share
 * ((memTotal − memUsed) / memTotal) and free slot share (free / total slots). CPU and memory
 * count as UNKNOWN_SHARE before the first heartbeat.
 */
export function availabilityScore(worker: WorkerSnapshot, capacity: Capacity): number {
  const hb = worker.heartbeat;
  const cpu = hb ? clamp01(1 - hb.cpuPercent / 100) : UNKNOWN_SHARE;
  const mem = hb && hb.memTotalMb > 0 ? clamp01((hb.memTotalMb - hb.memUsedMb) / hb.memTotalMb) : UNKNOWN_SHARE;
  const slots = capacity.total > 0 ? clamp01(capacity.free / capacity.total) : 0;
  return (cpu + mem + slots) / 3;
}

/** Share of a worker's slots in use (running or placed), in [0,1]. */
export function loadOf(capacity: Capacity): number {
  return capacity.total > 0 ? clamp01((capacity.total - capacity.free) / capacity.total) : 1;
}

/**
 * balance ∈ [0,1] = 0.5 + (fleetLoad − load) / 2, clamped, where load = used / total slots of the
 * worker and fleetLoad = Σ used / Σ total slots over the eligible candidates: 0.5 at the fleet's
 * average, above it for a worker less busy than the rest, below it for a busier one.
 */
export function balanceScore(load: number, fleetLoad: number): number {
  return clamp01(0.5 + (fleetLoad - load) / 2);
}

/**
 * affinity ∈ [0,1]: 1 on the worker holding the branch the task continues (its mirror has the
 * commits; `holdsCheckout`); else the owner part, min(1, n / AFFINITY_SATURATION) for n of the
 * owner's tasks placed on the worker within AFFINITY_WINDOW_MS — capped at
 * CHECKOUT_ELSEWHERE_AFFINITY for a task that continues a branch held elsewhere, so the holder
 * wins when the rest is even. (A same-workflow-run part is not built: a run's nodes continue each
 * other's work through branches, which this covers.)
 */
export function affinityScore(recentTasksOfOwner: number, holdsCheckout: boolean | null = null): number {
  if (holdsCheckout === true) return 1;
  const owner = clamp01(recentTasksOfOwner / AFFINITY_SATURATION);
  return holdsCheckout === false ? Math.min(CHECKOUT_ELSEWHERE_AFFINITY, owner) : owner;
}

const zeroScores = { match: 0, availability: 0, balance: 0, affinity: 0, total: 0 };

/**
 * A worker that could take work at all: registered, online, its credential not revoked, not
 * drained. Only these are loaded and scored on the hot path; the rest are counted
 * (`unavailableReasons`, the worker repository's count query).
 */
export function isAvailable(worker: Pick<WorkerSnapshot, 'registered' | 'online' | 'revoked' | 'drained'>): boolean {
  return worker.registered && worker.online && !worker.revoked && !worker.drained;
}

/**
 * The stable reasons a worker that is not `isAvailable` is counted under for a task whose owner
 * may (`usable`) or may not use it — the same texts, in the same order, as rejectionsOf's.
 */
export function unavailableReasons(worker: Pick<WorkerSnapshot, 'registered' | 'online' | 'revoked' | 'drained'>, usable: boolean): string[] {
  const reasons: string[] = [];
  if (!worker.registered) reasons.push('not registered');
  if (!worker.online) reasons.push('offline');
  if (worker.revoked) reasons.push('credential revoked');
  if (worker.drained) reasons.push('drained');
  if (!usable) reasons.push(NOT_ALLOWED);
  return reasons;
}

/** The stable part of a reason: the text before ':' (the figures after it move with every heartbeat). */
export const stableReason = (reason: string): string => reason.split(':')[0]!;

/** Filters and scores the workers handed in for `task`; picks the best eligible one, or defers. */
export function decideAllocation(task: TaskToPlace, workers: readonly WorkerSnapshot[], context: AllocationContext): AllocationOutcome {
  const sorted = [...workers].sort((a, b) => compareIds(a.workerId, b.workerId));
  const checkout = context.checkout;
  let branchHolder: BranchHolder | undefined;
  if (checkout && (!checkout.pushed || checkout.session === true)) {
    const holder = sorted.find((w) => w.workerId === checkout.workerId);
    branchHolder = {
      branch: checkout.branch,
      session: checkout.session === true,
      workerId: checkout.workerId,
      label: holder ? workerLabel(holder) : checkout.workerId,
      online: holder?.online ?? false,
    };
  }
  const assessed = sorted.map((worker) => {
    const capacity = capacityOf(worker, context.now);
    return { worker, capacity, rejectedBecause: rejectionsOf(task, worker, capacity, context.groupWorkers, branchHolder) };
  });
  const eligible = assessed.filter((a) => a.rejectedBecause.length === 0);
  const usedTotal = eligible.reduce((s, a) => s + (a.capacity.total - a.capacity.free), 0);
  const slotsTotal = eligible.reduce((s, a) => s + a.capacity.total, 0);
  const fleetLoad = slotsTotal > 0 ? clamp01(usedTotal / slotsTotal) : 0;

  const candidates: Candidate[] = assessed.map(({ worker, capacity, rejectedBecause }) => {
    if (rejectedBecause.length > 0) return { workerId: worker.workerId, eligible: false, rejectedBecause, scores: { ...zeroScores } };
    const match = matchScore(task, worker);
    const availability = availabilityScore(worker, capacity);
    const balance = balanceScore(loadOf(capacity), fleetLoad);
    const affinity = affinityScore(context.recentTasksOfOwner.get(worker.workerId) ?? 0, checkout ? checkout.workerId === worker.workerId : null);
    const total = scoreWeights.match * match + scoreWeights.availability * availability + scoreWeights.balance * balance + scoreWeights.affinity * affinity;
    return {
      workerId: worker.workerId,
      eligible: true,
      rejectedBecause: [],
      scores: { match: round4(match), availability: round4(availability), balance: round4(balance), affinity: round4(affinity), total: round4(total) },
    };
  });

  let winner: Candidate | undefined;
  for (const c of candidates) {
    if (!c.eligible) continue;
    // Candidates are in id order, so keeping the first of equal totals breaks ties by smallest id.
    if (!winner || c.scores.total > winner.scores.total) winner = c;
  }
  const pinned = [winner?.workerId, task.requirements.workerId, branchHolder?.workerId];
  const { listed, others } = shortList(candidates, pinned, countedWithout(context.unavailable ?? [], sorted, task.ownerId));
  return winner ? { kind: 'decided', workerId: winner.workerId, candidates: listed, others } : { kind: 'deferred', candidates: listed, others };
}

const mayNotUse = (c: Candidate): boolean => c.rejectedBecause.some((r) => r.startsWith(NOT_ALLOWED));

/**
 * Order of interest: eligible ones by total, then the ineligible ones the owner may use (fewest
 * reasons first: the nearest to fitting), then the rest; id order within (the sort is stable).
 */
function byInterest(a: Candidate, b: Candidate): number {
  if (a.eligible !== b.eligible) return a.eligible ? -1 : 1;
  if (a.eligible) return b.scores.total - a.scores.total;
  if (mayNotUse(a) !== mayNotUse(b)) return mayNotUse(a) ? 1 : -1;
  return a.rejectedBecause.length - b.rejectedBecause.length;
}

/** The TOP_CANDIDATES most interesting candidates and the pinned ones (id order); the rest counted, with `counted`. */
function shortList(
  candidates: readonly Candidate[],
  pinned: ReadonlyArray<string | undefined>,
  counted: readonly CountedCandidates[],
): { listed: Candidate[]; others: CountedCandidates[] } {
  const keep = new Set<string>(pinned.filter((id): id is string => id !== undefined));
  for (const c of [...candidates].sort(byInterest).slice(0, TOP_CANDIDATES)) keep.add(c.workerId);
  const counts = new Map<string, CountedCandidates>();
  const count = (reasons: string[], n: number) => {
    const key = reasons.join('\n');
    const entry = counts.get(key) ?? { reasons, count: 0 };
    entry.count += n;
    counts.set(key, entry);
  };
  for (const c of counted) count(c.reasons, c.count);
  for (const c of candidates) if (!keep.has(c.workerId)) count(c.rejectedBecause.map(stableReason), 1);
  const others = [...counts.values()].filter((c) => c.count > 0).sort((a, b) => b.count - a.count || compareIds(a.reasons.join('\n'), b.reasons.join('\n')));
  return { listed: candidates.filter((c) => keep.has(c.workerId)), others };
}

/** `unavailable` less the workers handed in that it counts (a pinned worker loaded although unavailable). */
function countedWithout(unavailable: readonly CountedCandidates[], handedIn: readonly WorkerSnapshot[], ownerId: string): CountedCandidates[] {
  const result = unavailable.map((c) => ({ reasons: c.reasons, count: c.count }));
  for (const worker of handedIn) {
    if (isAvailable(worker)) continue;
    const key = unavailableReasons(worker, mayUse(ownerId, worker)).join('\n');
    const entry = result.find((c) => c.reasons.join('\n') === key && c.count > 0);
    if (entry) entry.count--;
  }
  return result;
}

/**
 * What a deferral says about the fleet, without the figures that move with every heartbeat:
 * each listed candidate's id, eligibility and the stable part (before ':') of each rejection
 * reason, and the counts of the others. Workers the owner has no role on are left out: how they
 * come and go is none of the owner's business, and would only record new deferrals.
 */
export function candidatePicture(outcome: { candidates: readonly Candidate[]; others?: readonly CountedCandidates[] }): string {
  const listed = [...outcome.candidates]
    .filter((c) => !mayNotUse(c))
    .sort((a, b) => compareIds(a.workerId, b.workerId))
    .map((c) => `${c.workerId}=${c.eligible ? 'eligible' : c.rejectedBecause.map(stableReason).join('|')}`);
  const counted = (outcome.others ?? [])
    .filter((c) => !c.reasons.includes(NOT_ALLOWED))
    .map((c) => `${c.reasons.join('|') || 'eligible'}×${c.count}`)
    .sort(compareIds);
  return [...listed, ...counted].join(';');
}

/**
 * Whether a deferred task only waits for a slot: some worker, listed or counted, fails no filter
 * but the free-slot one. Such a task is queued behind others, like in any work queue; a deferral
 * record would say nothing a user can act on, and under load every task would get one (it
 * doubled allocation's writes in the burst benchmark).
 */
export function waitsOnlyForASlot(outcome: { candidates: readonly Candidate[]; others?: readonly CountedCandidates[] }): boolean {
  const onlySlot = (reasons: readonly string[]) => reasons.length > 0 && reasons.every((r) => stableReason(r) === NO_FREE_SLOT);
  return outcome.candidates.some((c) => !c.eligible && onlySlot(c.rejectedBecause)) || (outcome.others ?? []).some((c) => onlySlot(c.reasons));
}

/** Code-unit order, independent of locale, so every instance sorts ids alike. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
