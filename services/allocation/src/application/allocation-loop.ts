/*
 * The allocation loop: takes the pending tasks in order (priority desc, created asc, respecting
 * notBefore), decides each one with the pure `decideAllocation`, and records the outcome in the
 * task's allocation stream. Runs on triggers — TaskQueued and other task events, worker events
 * that may add capacity, heartbeats showing a freed slot — and on a safety-net timer.
 *
 * Invariants (tested in test/allocation.int.spec.ts):
 *  - one pass at a time per process; triggers during a pass coalesce into one more pass;
 *  - one AllocationDecided per (taskId, attempt), even across crashes and racing instances: the
 *    stream is the judge (RecordAllocationHandler), and a task is marked `decided` only after
 *    its decision is stored. A crash between the two leaves it pending; the next pass finds the
 *    stored decision, appends nothing and marks it then;
 *  - within a pass, every decision immediately counts against its worker's slots, so one pass
 *    never hands one slot to two tasks;
 *  - a deferral is appended only when the candidate picture changed (decider); an in-memory
 *    cache of the last picture per (task, attempt) spares the stream read on an idle tick;
 *  - a task that only waits for a busy worker's slot gets no deferral (it is queued, like in
 *    any work queue; under load every task would otherwise get one), unless it already has one
 *    whose story changed;
 *  - a pass reads the queue page by page (keyset; the first page about four tasks per free
 *    slot, each next one twice as large) and stops once no slot is left: a backlog costs what the free slots can take, not the backlog.
 *    A head of the queue that no worker fits does not starve the tasks behind it: the pass pages
 *    past it, and after ten full pages the next pass goes on from where this one stopped;
 *  - a pass reuses the previous pass's picture of the workers (what they are, what is placed on
 *    them, counting its own decisions) while nothing it does not show has changed: the
 *    projection says when an applied event may have changed it (`invalidate`), as do heartbeats
 *    freeing capacity and the safety-net timer, and it is read again after ROUND_MAX_AGE_MS
 *    anyway (heartbeat figures move). On an idle platform a new task is then decided with one
 *    query (the queue), not six;
 *  - anti-affinity holds within a pass too: a page's groups are read once (only for a page with
 *    a task that names a group, so the rest pay nothing), and each decision of the pass joins its
 *    group's placements at once, before the next task of the group is decided;
 *  - a follow-up whose workspace ref is an earlier attempt's branch (`agentyard/<task>-<n>`) is
 *    decided with where that attempt ran (`checkout`): a page's referenced tasks are read once
 *    (only for a page with such a task), and only a task of the same owner counts — another
 *    owner's task says nothing (the ref is then a plain one, which that owner's mirror lacks);
 *  - the picture holds only the workers that could take work (registered, online, not revoked,
 *    not drained); the rest are counted per task owner with one aggregate query, kept until a
 *    worker event is applied here (WorkerRepository.generation) or COUNTS_MAX_AGE_MS passed — task
 *    events, which renew the picture after every decision, do not renew them — and loaded one by
 *    one only when a task is pinned to them (requirements.workerId, or the worker holding its
 *    branch or session), so the registered fleet's size costs a decision nothing (issue #14;
 *    bench/allocation/allocation-scale.bench.mjs);
 *  - once no worker has a free slot left in a pass, a task whose deferral is already recorded
 *    is not decided again in that pass: nothing could place it, and a backlog of thousands would
 *    otherwise be re-scored on every pass. (A rejection that changes while every slot is busy —
 *    say a worker loses a tool — shows in its next deferral once a slot frees.)
 */
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import { newId, type CountedCandidates } from '@agentyard/contracts';
import { forEachConcurrently, MetricsRegistry, ROOT_LOGGER } from '@agentyard/service-kit';
import {
  AFFINITY_WINDOW_MS,
  candidatePicture,
  capacityOf,
  decideAllocation,
  waitsOnlyForASlot,
  type Checkout,
  workersOfGroup,
  type PlacedTask,
  type WorkerSnapshot,
} from '../domain/allocation.decide';
import { TaskRepository, type PendingCursor, type PendingTask } from '../infrastructure/task.repository';
import { WorkerRepository } from '../infrastructure/worker.repository';
import type { WorkerState } from './worker-state.projection';
import { LIVE_HEARTBEATS, type LiveHeartbeats } from './live-heartbeats';
import { attemptBranch, type AttemptPlacement } from './task-state.projection';
import { RecordAllocationHandler } from './record-allocation.handler';
import { ALLOCATION_SETTINGS, type AllocationSettings } from './tokens';

@Injectable()
export class AllocationLoop implements OnModuleDestroy {
  private requested = false;
  private running: Promise<void> | undefined;
  private stopped = true;
  private safetyNet: NodeJS.Timeout | undefined;
  private notBeforeTimer: NodeJS.Timeout | undefined;
  /**
   * `${taskId}#${attempt}` → picture of its last recorded (or confirmed) deferral, or of its wait
   * for a busy worker's slot (`recorded: false`: such a wait is not recorded, see place()).
   */
  private readonly deferred = new Map<string, { picture: string; recorded: boolean }>();
  /** The last pass's picture of the workers, and when it was read (performance.now()). */
  private round: { value: PassRound; readAt: number } | undefined;
  /** Something the cached round does not show may have changed since it was read. */
  private pictureChanged = true;
  /** The unavailable workers' counts per owner, and the worker projection's generation and time they were read at. */
  private counts: { generation: number; readAt: number; byOwner: Map<string, CountedCandidates[]> } | undefined;
  /** Where the next pass starts when the last one stopped at its page limit (else the head). */
  private resumeAfter: PendingCursor | undefined;
  private readonly passes: Counter;
  private readonly outcomes: Counter<'outcome'>;
  private readonly batchSize: number;

  constructor(
    private readonly tasks: TaskRepository,
    private readonly workers: WorkerRepository,
    @Inject(LIVE_HEARTBEATS) private readonly heartbeats: LiveHeartbeats,
    private readonly recorder: RecordAllocationHandler,
    @Inject(ALLOCATION_SETTINGS) private readonly settings: AllocationSettings,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    metrics: MetricsRegistry,
  ) {
    this.batchSize = settings.batchSize ?? 500;
    this.passes = new Counter({ name: 'agentyard_allocation_passes_total', help: 'Allocation passes completed', registers: [metrics.registry] });
    this.outcomes = new Counter({
      name: 'agentyard_allocation_outcomes_total',
      help: 'Allocation events appended, by outcome (decided, deferred)',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
    heartbeats.onCapacityFreed(() => {
      this.invalidate();
      this.trigger();
    });
  }

  /**
   * Starts the safety-net timer and runs a first pass. Also after a stop (this replica got
   * allocation's lease back): what it remembered may have been changed by another replica's loop
   * meanwhile, so it starts from the stores.
   */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.deferred.clear();
    this.resumeAfter = undefined;
    this.invalidate();
    this.safetyNet = setInterval(() => {
      this.invalidate();
      this.trigger();
    }, this.settings.safetyNetIntervalMs);
    this.trigger();
  }

  /** Stops the timers and waits for a running pass. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.safetyNet);
    clearTimeout(this.notBeforeTimer);
    await this.running;
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  /** The next pass reads the workers' picture again (an event may have changed it). */
  invalidate(): void {
    this.pictureChanged = true;
  }

  /** Asks for a pass soon; triggers during a pass coalesce into one more pass. */
  trigger(): void {
    this.requested = true;
    this.kick();
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = (async () => {
      while (this.requested && !this.stopped) {
        this.requested = false;
        try {
          await this.pass();
        } catch (error) {
          this.invalidate(); // its decisions may be counted in the round but not stored
          this.logger.error({ err: error }, 'allocation pass failed; the next trigger retries');
        }
        // Under load every event batch asks for a pass; a short breather lets the triggers of a
        // few milliseconds share one pass (its queries cost the same for 1 or 50 freed slots).
        if (this.requested && !this.stopped) await new Promise((r) => setTimeout(r, PASS_SPACING_MS));
      }
    })().finally(() => {
      this.running = undefined;
      if (this.requested && !this.stopped) this.kick();
    });
  }

  private async pass(): Promise<void> {
    const now = new Date();
    const round = await this.currentRound(now);
    const seen = new Set<string>();
    let after = this.resumeAfter;
    this.resumeAfter = undefined;
    const fromHead = after === undefined;
    let scanned = 0;
    // The first page: about as many tasks as the free slots could take, a few times over for
    // tasks no free worker fits; with no slot free, one small page still records the deferrals
    // of ineligible tasks new at the head of the queue. Each further page is twice as large (a
    // backlog that fits only busy workers, ahead of tasks an idle worker could take, costs a
    // few reads, not one per 32 tasks).
    let limit = Math.min(this.batchSize, Math.max(MIN_PAGE, round.freeTotal() * 4));
    for (;;) {
      if (this.stopped) return;
      const page = await this.tasks.listPending(now, limit, after);
      for (const task of page) seen.add(`${task.taskId}#${task.attempt}`);
      await this.place(page, round, now);
      scanned += page.length;
      if (page.length < limit) {
        // Read to the end of the queue: deferrals of tasks no longer pending can go.
        if (fromHead) this.forgetDeferralsExcept(seen);
        break;
      }
      after = page.at(-1)!.cursor;
      limit = Math.min(this.batchSize, limit * 2);
      if (round.freeTotal() === 0) break; // behind this, nothing could be placed now
      if (scanned >= this.batchSize * MAX_PAGES_PER_PASS) {
        // A long queue that no free worker fits: the next pass goes on from here, so tasks deep
        // in the queue that do fit are not starved by the ones ahead of them.
        this.resumeAfter = after;
        this.requested = true;
        break;
      }
    }
    this.passes.inc();
  }

  /** The cached round while nothing it does not show changed, else a fresh one. */
  private async currentRound(now: Date): Promise<PassRound> {
    if (this.round && !this.pictureChanged && performance.now() - this.round.readAt <= ROUND_MAX_AGE_MS) return this.round.value;
    // Cleared before reading: an event applied during the reads marks the new round stale again.
    this.pictureChanged = false;
    const readAt = performance.now();
    await this.scheduleNextNotBefore(now);
    const value = await this.snapshot(now);
    this.round = { value, readAt };
    return value;
  }

  /**
   * What a pass decides against: the workers that could take work, their heartbeats and what is
   * placed on them. Other workers are counted (`unavailableFor`) or loaded when a task is pinned
   * to one (`pinnedFor`), both once per round.
   */
  private async snapshot(now: Date): Promise<PassRound> {
    const [workers, placed, recent] = await Promise.all([
      this.workers.listAvailable(),
      this.tasks.listPlaced(),
      this.tasks.recentPlacements(new Date(now.getTime() - AFFINITY_WINDOW_MS)),
    ]);
    const heartbeats = new Map(workers.map((w) => [w.workerId, this.heartbeats.get(w.workerId) ?? null]));
    const finished = await this.tasks.finishedAmong([...heartbeats.values()].flatMap((hb) => hb?.running ?? []));
    const placedOn = new Map<string, PlacedTask[]>();
    const snapshotOf = (w: WorkerState): WorkerSnapshot => {
      const list = [...(placed.get(w.workerId) ?? [])];
      placedOn.set(w.workerId, list);
      return { ...w, heartbeat: this.heartbeats.get(w.workerId) ?? null, placed: list, finishedSinceHeartbeat: finished };
    };
    const snapshots = workers.map(snapshotOf);
    const freeSlots = new Map(snapshots.map((w) => [w.workerId, capacityOf(w, now).free]));
    const listed = new Set(snapshots.map((w) => w.workerId));
    const pinned = new Map<string, WorkerSnapshot | null>();
    const unavailable = this.currentCounts();
    return {
      snapshots,
      placedOn,
      recent,
      freeSlots,
      freeTotal: () => [...freeSlots.values()].reduce((sum, n) => sum + Math.max(0, n), 0),
      unavailableFor: async (ownerIds) => {
        const missing = [...new Set(ownerIds)].filter((o) => !unavailable.has(o));
        if (missing.length > 0) for (const [owner, counts] of await this.workers.countUnavailable(missing)) unavailable.set(owner, counts);
        return (ownerId) => unavailable.get(ownerId) ?? [];
      },
      pinnedFor: async (workerIds) => {
        const missing = [...new Set(workerIds)].filter((id) => !listed.has(id) && !pinned.has(id));
        for (const id of missing) pinned.set(id, null); // unknown here: the decider names it by id
        for (const w of await this.workers.findMany(missing)) pinned.set(w.workerId, snapshotOf(w));
        return (ids) => ids.flatMap((id) => (listed.has(id) ? [] : [pinned.get(id) ?? null]).filter((w): w is WorkerSnapshot => w !== null));
      },
    };
  }

  /** The kept counts of unavailable workers while no worker event was applied since and they are young, else none. */
  private currentCounts(): Map<string, CountedCandidates[]> {
    const generation = this.workers.generation;
    const fresh = this.counts && this.counts.generation === generation && generation % 2 === 0 && performance.now() - this.counts.readAt <= COUNTS_MAX_AGE_MS;
    if (!fresh) this.counts = { generation, readAt: performance.now(), byOwner: new Map() };
    return this.counts!.byOwner;
  }

  private async place(pending: PendingTask[], round: PassRound, now: Date): Promise<void> {
    const { snapshots, placedOn, recent, freeSlots } = round;
    // Phase 1, in memory and in order: decide each task against the snapshot, counting every
    // decision of this pass against its worker's free slots at once, so two tasks of one pass can
    // never take the same slot. Phase 2 records the outcomes concurrently (bounded): each record is
    // fenced by its own stream's expected version, so the order of the writes does not matter.
    const jobs: Array<{ task: PendingTask; key: string; outcome: ReturnType<typeof decideAllocation> }> = [];
    let anyFree = round.freeTotal() > 0;
    // Read after the previous page's decisions were marked, so they are in it.
    const groups = await this.tasks.groupPlacements([...new Set(pending.flatMap((t) => t.requirements.antiAffinity ?? []))]);
    const continued = await this.tasks.attemptsOf(pending.flatMap((t) => (t.continues ? [t.continues.taskId] : [])));
    const checkouts = new Map(pending.map((t) => [t.taskId, checkoutOf(t, continued)]));
    // The workers a task is pinned to, whatever their state: their candidate says why it waits.
    const pinnedOf = (t: PendingTask): string[] => [t.requirements.workerId, checkouts.get(t.taskId)?.checkout?.workerId].filter((id): id is string => !!id);
    const pinnedWorkers = await round.pinnedFor(pending.flatMap(pinnedOf));
    const unavailableOf = await round.unavailableFor(pending.map((t) => t.ownerId));
    for (const task of pending) {
      if (this.stopped) return;
      const key = `${task.taskId}#${task.attempt}`;
      if (!anyFree && this.deferred.has(key)) continue;
      const recentOfOwner = recent.get(task.ownerId) ?? new Map<string, number>();
      const group = task.requirements.antiAffinity === undefined ? undefined : groups.get(task.requirements.antiAffinity);
      const extra = pinnedWorkers(pinnedOf(task));
      const outcome = decideAllocation(
        { taskId: task.taskId, attempt: task.attempt, ownerId: task.ownerId, tool: task.tool, requirements: task.requirements, model: task.model },
        extra.length === 0 ? snapshots : [...snapshots, ...extra],
        {
          now,
          recentTasksOfOwner: recentOfOwner,
          ...(group ? { groupWorkers: workersOfGroup(group, task.taskId) } : {}),
          ...checkouts.get(task.taskId),
          unavailable: unavailableOf(task.ownerId),
        },
      );
      if (outcome.kind === 'deferred') {
        const picture = candidatePicture(outcome);
        const known = this.deferred.get(key);
        if (known?.picture === picture) continue;
        // Only waiting for a busy worker's slot: queued, not stuck, so nothing is recorded —
        // unless a deferral was, which would otherwise go on telling an outdated story.
        if (!known?.recorded && waitsOnlyForASlot(outcome)) {
          this.deferred.set(key, { picture, recorded: false });
          continue;
        }
      }
      if (outcome.kind === 'decided') {
        placedOn.get(outcome.workerId)?.push({ taskId: task.taskId, attempt: task.attempt, stage: 'decided', since: now.toISOString() });
        const winner = snapshots.find((w) => w.workerId === outcome.workerId);
        if (winner) freeSlots.set(winner.workerId, capacityOf(winner, now).free);
        anyFree = round.freeTotal() > 0;
        recentOfOwner.set(outcome.workerId, (recentOfOwner.get(outcome.workerId) ?? 0) + 1);
        recent.set(task.ownerId, recentOfOwner);
        group?.push({ taskId: task.taskId, workerId: outcome.workerId });
      }
      jobs.push({ task, key, outcome });
    }
    const decidedNow: Array<{ taskId: string; attempt: number; workerId: string }> = [];
    await forEachConcurrently(jobs, RECORD_CONCURRENCY, async ({ task, key, outcome }) => {
      if (this.stopped) return;
      const correlationId = task.correlationId ?? newId();
      const result = await this.recorder.execute({
        taskId: task.taskId,
        attempt: task.attempt,
        outcome,
        metadata: { correlationId, causationId: task.queuedEventId ?? correlationId },
        now,
        probablyNew: task.attempt === 1 && !this.deferred.get(key)?.recorded,
      });
      if (result.stale) return; // a later attempt is recorded: our view lags, its events will follow
      const decided = result.record.decided;
      if (decided) {
        this.deferred.delete(key);
        decidedNow.push({ taskId: task.taskId, attempt: task.attempt, workerId: decided.workerId });
        if (result.appended) {
          this.outcomes.inc({ outcome: 'decided' });
          this.logger.debug({ taskId: task.taskId, attempt: task.attempt, workerId: decided.workerId }, 'allocation decided');
        }
      } else if (outcome.kind === 'deferred') {
        this.deferred.set(key, { picture: candidatePicture(outcome), recorded: true });
        if (result.appended) {
          this.outcomes.inc({ outcome: 'deferred' });
          // Debug, not info: a busy fleet defers every task it cannot place at once.
          this.logger.debug({ taskId: task.taskId, attempt: task.attempt }, 'allocation deferred: no eligible worker');
        }
      }
    });
    // Marked only once stored (a crash before leaves them pending; the next pass finds the stored
    // decisions and marks them then).
    await this.tasks.markDecided(decidedNow, now);
  }

  private async scheduleNextNotBefore(now: Date): Promise<void> {
    clearTimeout(this.notBeforeTimer);
    const next = await this.tasks.nextNotBefore(now);
    if (!next || this.stopped) return;
    this.notBeforeTimer = setTimeout(() => this.trigger(), Math.max(0, next.getTime() - Date.now()) + 5);
  }

  private forgetDeferralsExcept(keep: Set<string>): void {
    for (const key of this.deferred.keys()) if (!keep.has(key)) this.deferred.delete(key);
  }
}

/**
 * Where the branch a follow-up starts from lives, as `{ checkout }` for the decider's context, or
 * nothing: the ref names no attempt, the task is unknown here or another owner's, or allocation
 * never saw that attempt placed.
 */
export function checkoutOf(
  task: Pick<PendingTask, 'ownerId' | 'continues'>,
  continued: ReadonlyMap<string, { ownerId: string | null; attempts: Record<string, AttemptPlacement> }>,
): { checkout?: Checkout } {
  if (!task.continues) return {};
  const earlier = continued.get(task.continues.taskId);
  if (!earlier || earlier.ownerId !== task.ownerId) return {};
  const ran = earlier.attempts[task.continues.attempt];
  return ran
    ? { checkout: { branch: attemptBranch(task.continues), workerId: ran.workerId, pushed: ran.pushed, session: task.continues.session === true } }
    : {};
}

/** Least time between the end of one pass and the start of the next when triggers keep coming. */
const PASS_SPACING_MS = 5;

/**
 * Longest a pass reuses the workers' picture: heartbeats (every 5 s) move the figures it scores
 * on, and a decision's hold on a slot runs out, without any event saying so.
 */
const ROUND_MAX_AGE_MS = 1_000;

/**
 * Longest the counts of unavailable workers are kept without a worker event applied here: another
 * instance may apply those events (the counts only report, they place nothing).
 */
const COUNTS_MAX_AGE_MS = 5_000;

/** Smallest page of pending tasks a pass reads. */
const MIN_PAGE = 32;

/** A pass reads at most this many pages of `batchSize` before yielding to the next pass. */
const MAX_PAGES_PER_PASS = 10;

/** The workers as one pass sees them; `freeSlots` and `placedOn` count the pass's own decisions. */
interface PassRound {
  /** The workers that could take work (registered, online, not revoked, not drained). */
  snapshots: WorkerSnapshot[];
  placedOn: Map<string, PlacedTask[]>;
  recent: Map<string, Map<string, number>>;
  freeSlots: Map<string, number>;
  freeTotal(): number;
  /** Reads (once per round) the other workers' counts for these owners; then owner → counts. */
  unavailableFor(ownerIds: string[]): Promise<(ownerId: string) => CountedCandidates[]>;
  /** Loads (once per round) these pinned workers not in `snapshots`; then ids → their snapshots. */
  pinnedFor(workerIds: string[]): Promise<(workerIds: string[]) => WorkerSnapshot[]>;
}

/** Decisions recorded at once per pass: enough to hide round trips, few enough for the pool. */
const RECORD_CONCURRENCY = 8;
