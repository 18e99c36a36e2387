import { scoreWeights, type Heartbeat } from '@agentyard/contracts';
import {
  AFFINITY_SATURATION,
  availabilityScore,
  balanceScore,
  candidatePicture,
  waitsOnlyForASlot,
  capacityOf,
  DECISION_HOLD_MS,
  decideAllocation,
  isAvailable,
  matchScore,
  TOP_CANDIDATES,
  unavailableReasons,
  type AllocationOutcome,
  type PlacedTask,
  type TaskToPlace,
  type WorkerSnapshot,
  workersOfGroup,
} from './allocation.decide';

const now = new Date('2026-11-29T12:00:00.000Z');
const ago = (ms: number): string => new Date(now.getTime() - ms).toISOString();

function task(overrides: Partial<TaskToPlace> = {}): TaskToPlace {
  return { taskId: 't-1', attempt: 1, ownerId: 'alice', tool: 'shell', requirements: {}, model: null, ...overrides };
}

function heartbeat(overrides: Partial<Heartbeat> = {}): Heartbeat {
  return {
    workerId: 'w',
    sentAt: ago(1_000),
    cpuPercent: 20,
    memUsedMb: 4_000,
    memTotalMb: 16_000,
    diskFreeMb: 50_000,
    diskTotalMb: 100_000,
    slots: { total: 2, used: 0 },
    running: [],
    tools: [],
    draining: false,
    ...overrides,
  };
}

function worker(workerId: string, overrides: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return {
    workerId,
    registered: true,
    ownerId: 'alice',
    roles: { alice: 'owner' },
    tools: [{ name: 'shell', version: '5.2', health: 'healthy' as const, auth: 'ok' as const }],
    labels: [],
    slots: 2,
    resources: { cpus: 8, memoryMb: 16_000, diskMb: 100_000 },
    online: true,
    drained: false,
    revoked: false,
    heartbeat: heartbeat({ workerId }),
    placed: [],
    ...overrides,
  };
}

const context = (recent: Record<string, number> = {}) => ({ now, recentTasksOfOwner: new Map(Object.entries(recent)) });
const decide = (t: TaskToPlace, ws: WorkerSnapshot[], recent: Record<string, number> = {}): AllocationOutcome => decideAllocation(t, ws, context(recent));
const reasonsOf = (outcome: AllocationOutcome, workerId: string): string[] => outcome.candidates.find((c) => c.workerId === workerId)!.rejectedBecause;
const placed = (taskId: string, stage: PlacedTask['stage'], since = ago(1_000)): PlacedTask => ({ taskId, attempt: 1, stage, since });

describe('decideAllocation', () => {
  describe('filter', () => {
    describe('when the only worker passes every filter', () => {
      it('decides for it, with no rejection reasons', () => {
        const outcome = decide(task(), [worker('w1')]);
        expect(outcome).toMatchObject({ kind: 'decided', workerId: 'w1' });
        expect(outcome.candidates).toEqual([expect.objectContaining({ workerId: 'w1', eligible: true, rejectedBecause: [] })]);
      });
    });

    const cases: [string, TaskToPlace, Partial<WorkerSnapshot>, string][] = [
      ['it was never registered', task(), { registered: false }, 'not registered'],
      ['it is offline', task(), { online: false }, 'offline'],
      ['its credential was revoked', task(), { revoked: true }, 'credential revoked'],
      ['it is drained', task(), { drained: true }, 'drained'],
      ['its heartbeat says it is draining', task(), { heartbeat: heartbeat({ draining: true }) }, 'draining'],
      ['it lacks the tool', task({ tool: 'claude-code' }), {}, 'lacks tool claude-code'],
      [
        'its slots are all in use',
        task(),
        {
          heartbeat: heartbeat({
            slots: { total: 2, used: 2 },
            running: [
              { taskId: 'a', attempt: 1 },
              { taskId: 'b', attempt: 1 },
            ],
          }),
        },
        'no free slot: 2 of 2 in use',
      ],
      ['it has too few CPUs', task({ requirements: { minCpus: 16 } }), {}, 'too few CPUs: 8 < 16 required'],
      ['its free memory is too small', task({ requirements: { minMemoryMb: 13_000 } }), {}, 'not enough free memory: 12000 MB free, 13000 MB required'],
      ['its free disk is too small', task({ requirements: { minDiskMb: 60_000 } }), {}, 'not enough free disk: 50000 MB free, 60000 MB required'],
      ['it lacks a required label', task({ requirements: { labels: ['gpu', 'linux'] } }), { labels: ['linux'] }, 'missing labels: gpu'],
      ['the task is pinned to another worker', task({ requirements: { workerId: 'w9' } }), {}, 'pinned to another worker: w9'],
      ["the task's owner has no role on it", task({ ownerId: 'bob' }), {}, "not allowed for the task's owner: no role on this worker"],
    ];
    describe.each(cases)('when %s', (_what, t, overrides, reason) => {
      it(`defers, rejecting it because "${reason}"`, () => {
        const outcome = decide(t, [worker('w1', overrides)]);
        expect(outcome.kind).toBe('deferred');
        expect(reasonsOf(outcome, 'w1')).toEqual([reason]);
        expect(outcome.candidates[0]!.scores).toEqual({ match: 0, availability: 0, balance: 0, affinity: 0, total: 0 });
      });
    });

    describe('when a worker fails several filters', () => {
      it('lists every reason, not just the first', () => {
        const outcome = decide(task({ tool: 'ollama', ownerId: 'bob' }), [worker('w1', { online: false, drained: true })]);
        expect(reasonsOf(outcome, 'w1')).toEqual(['offline', 'drained', 'lacks tool ollama', "not allowed for the task's owner: no role on this worker"]);
      });
    });

    describe('when the worker reports the task’s tool unhealthy', () => {
      const claudeApi = (health: 'healthy' | 'unhealthy', auth: 'ok' | 'refused' | 'unknown', detail?: string) => [
        { name: 'claude-api' as const, version: 'api', health, auth, ...(detail ? { detail } : {}) },
      ];
      it('skips that worker with the agent’s reason and places the task on one where the tool is healthy', () => {
        const outcome = decide(task({ tool: 'claude-api' }), [
          worker('a', { tools: claudeApi('unhealthy', 'refused', 'key refused by the Anthropic API (401)') }),
          worker('b', { tools: claudeApi('healthy', 'ok') }),
        ]);
        expect(outcome).toMatchObject({ kind: 'decided', workerId: 'b' });
        expect(reasonsOf(outcome, 'a')).toEqual(['claude-api unhealthy: key refused by the Anthropic API (401)']);
      });
      it('defers when no worker has it healthy, and says why without a detail too', () => {
        const outcome = decide(task({ tool: 'claude-api' }), [
          worker('a', { tools: claudeApi('unhealthy', 'refused') }),
          worker('b', { tools: claudeApi('unhealthy', 'unknown') }),
        ]);
        expect(outcome.kind).toBe('deferred');
        expect(reasonsOf(outcome, 'a')).toEqual(['claude-api unhealthy: key refused']);
        expect(reasonsOf(outcome, 'b')).toEqual(['claude-api unhealthy: its check failed']);
        // The stable part names the tool, not the changing detail, so a new reason alone records no new deferral.
        expect(candidatePicture(outcome)).toBe('a=claude-api unhealthy;b=claude-api unhealthy');
        expect(waitsOnlyForASlot(outcome)).toBe(false);
      });
      it('takes a tool an older agent lists without health as healthy', () => {
        const legacy = [{ name: 'shell', version: '5.2' }] as unknown as WorkerSnapshot['tools'];
        expect(decide(task(), [worker('a', { tools: legacy })])).toMatchObject({ kind: 'decided', workerId: 'a' });
      });
      it('judges only the task’s own tool', () => {
        const tools = [...claudeApi('unhealthy', 'refused'), { name: 'shell' as const, version: '5.2', health: 'healthy' as const, auth: 'ok' as const }];
        expect(decide(task(), [worker('a', { tools })])).toMatchObject({ kind: 'decided', workerId: 'a' });
      });
    });

    describe('when no heartbeat arrived yet', () => {
      it('judges memory and disk by the registered resources', () => {
        const w = worker('w1', { heartbeat: null, resources: { cpus: 2, memoryMb: 1_000, diskMb: 500 } });
        const outcome = decide(task({ requirements: { minMemoryMb: 2_000, minDiskMb: 400 } }), [w]);
        expect(reasonsOf(outcome, 'w1')).toEqual(['not enough free memory: 1000 MB free, 2000 MB required']);
      });
      it('rejects a resource requirement it cannot check', () => {
        const outcome = decide(task({ requirements: { minCpus: 1 } }), [worker('w1', { heartbeat: null, resources: null })]);
        expect(reasonsOf(outcome, 'w1')).toEqual(['too few CPUs: unknown < 1 required']);
      });
    });

    describe('when the task is pinned to this worker', () => {
      it('accepts it', () => {
        expect(decide(task({ requirements: { workerId: 'w1' } }), [worker('w1')])).toMatchObject({ kind: 'decided', workerId: 'w1' });
      });
    });
  });

  describe('permission', () => {
    describe('when the task owner owns the worker', () => {
      it('may use it', () => {
        expect(decide(task({ ownerId: 'alice' }), [worker('w1')]).kind).toBe('decided');
      });
    });
    describe("when the task owner holds the role 'user' on the worker", () => {
      const shared = (isolation: Heartbeat['isolation']) =>
        worker('w1', { roles: { alice: 'owner', bob: 'user' }, heartbeat: heartbeat({ workerId: 'w1', ...(isolation ? { isolation } : {}) }) });

      it.each(['bubblewrap', 'task-user'] as const)('may use it when its agent isolates tasks (%s)', (isolation) => {
        expect(decide(task({ ownerId: 'bob' }), [shared(isolation)]).kind).toBe('decided');
      });

      it.each([
        ['none', 'none'],
        [undefined, 'not reported'],
      ] as const)('may not use it when its agent runs tasks unisolated (isolation %s), and the reason says so', (isolation, shown) => {
        const outcome = decide(task({ ownerId: 'bob' }), [shared(isolation)]);
        expect(outcome.kind).toBe('deferred');
        expect(reasonsOf(outcome, 'w1')).toEqual([`not isolated: its agent runs tasks without isolation (${shown}), so only its owners' tasks`]);
      });
    });

    describe('when the task owner owns an unisolated worker, or was made an owner of it', () => {
      it('may use it', () => {
        const unisolated = worker('w1', { roles: { alice: 'owner', carol: 'owner' }, heartbeat: heartbeat({ workerId: 'w1', isolation: 'none' }) });
        expect(decide(task({ ownerId: 'alice' }), [unisolated]).kind).toBe('decided');
        expect(decide(task({ ownerId: 'carol' }), [unisolated]).kind).toBe('decided');
      });
    });
    describe('when only another user was granted a role', () => {
      it("never chooses the worker for the owner's task, even when it is the best one", () => {
        const xs = worker('x-worker', { ownerId: 'xavier', roles: { xavier: 'owner', carol: 'user' }, heartbeat: heartbeat({ cpuPercent: 0 }) });
        const ys = worker('y-worker', { ownerId: 'yasmin', roles: { yasmin: 'owner' }, heartbeat: heartbeat({ cpuPercent: 95 }) });
        const outcome = decide(task({ ownerId: 'yasmin' }), [xs, ys]);
        expect(outcome).toMatchObject({ kind: 'decided', workerId: 'y-worker' });
        expect(reasonsOf(outcome, 'x-worker')).toEqual(["not allowed for the task's owner: no role on this worker"]);
      });
    });
  });

  describe('slot accounting', () => {
    describe('when allocation placed tasks the heartbeat does not show yet', () => {
      it('counts them against the free slots', () => {
        const w = worker('w1', { placed: [placed('a', 'decided'), placed('b', 'assigned')] });
        const outcome = decide(task(), [w]);
        expect(outcome.kind).toBe('deferred');
        expect(reasonsOf(outcome, 'w1')).toEqual(['no free slot: 2 of 2 in use, 2 of them placed and not yet running']);
      });
    });
    describe('when the heartbeat already shows a placed task running', () => {
      it('counts it once', () => {
        const w = worker('w1', {
          heartbeat: heartbeat({ slots: { total: 2, used: 1 }, running: [{ taskId: 'a', attempt: 1 }] }),
          placed: [placed('a', 'running')],
        });
        expect(capacityOf(w, now)).toEqual({ total: 2, reportedRunning: 1, unconfirmed: 0, free: 1 });
        expect(decide(task(), [w]).kind).toBe('decided');
      });
    });
    describe('when a task started but the heartbeat predates it', () => {
      it('still holds its slot', () => {
        const w = worker('w1', { heartbeat: heartbeat({ sentAt: ago(5_000) }), placed: [placed('a', 'running', ago(1_000))] });
        expect(capacityOf(w, now)).toMatchObject({ unconfirmed: 1, free: 1 });
      });
    });
    describe('when a heartbeat sent after a task started no longer lists it', () => {
      it("frees its slot before the task's terminal event arrives", () => {
        const w = worker('w1', { heartbeat: heartbeat({ sentAt: ago(1_000) }), placed: [placed('a', 'running', ago(5_000))] });
        expect(capacityOf(w, now)).toMatchObject({ unconfirmed: 0, free: 2 });
      });
    });
    describe('when a decision was never confirmed by TaskAssigned', () => {
      it(`stops holding the slot after ${DECISION_HOLD_MS} ms`, () => {
        const fresh = worker('w1', { placed: [placed('a', 'decided', ago(DECISION_HOLD_MS - 1))] });
        const stale = worker('w1', { placed: [placed('a', 'decided', ago(DECISION_HOLD_MS + 1))] });
        expect(capacityOf(fresh, now).free).toBe(1);
        expect(capacityOf(stale, now).free).toBe(2);
      });
      it('keeps holding it once assigned, however old', () => {
        expect(capacityOf(worker('w1', { placed: [placed('a', 'assigned', ago(10 * DECISION_HOLD_MS))] }), now).free).toBe(1);
      });
    });
    describe('when there is no heartbeat', () => {
      it('uses the registered slots minus the placed tasks', () => {
        expect(capacityOf(worker('w1', { heartbeat: null, slots: 3, placed: [placed('a', 'running')] }), now)).toEqual({
          total: 3,
          reportedRunning: 0,
          unconfirmed: 1,
          free: 2,
        });
      });
    });
    describe('when tasks the heartbeat lists as running have finished since', () => {
      it('frees their slots at once instead of waiting for the next heartbeat', () => {
        const hb = heartbeat({
          slots: { total: 2, used: 2 },
          running: [
            { taskId: 'a', attempt: 1 },
            { taskId: 'b', attempt: 1 },
          ],
        });
        const busy = worker('w1', { heartbeat: hb, placed: [placed('b', 'running')] });
        expect(capacityOf(busy, now).free).toBe(0);
        const freed = worker('w1', { heartbeat: hb, placed: [placed('b', 'running')], finishedSinceHeartbeat: new Set(['a#1']) });
        expect(capacityOf(freed, now)).toEqual({ total: 2, reportedRunning: 1, unconfirmed: 0, free: 1 });
        expect(decide(task(), [freed]).kind).toBe('decided');
      });
      it('keeps counting another attempt of the same task (it may still run until cancelled)', () => {
        const hb = heartbeat({ slots: { total: 1, used: 1 }, running: [{ taskId: 'a', attempt: 1 }] });
        expect(capacityOf(worker('w1', { heartbeat: hb, finishedSinceHeartbeat: new Set(['a#2']) }), now).free).toBe(0);
      });
    });
    describe('when the heartbeat reports more used slots than running tasks', () => {
      it('believes the larger figure', () => {
        expect(capacityOf(worker('w1', { heartbeat: heartbeat({ slots: { total: 4, used: 3 }, running: [] }) }), now).free).toBe(1);
      });
    });
  });

  describe('scores', () => {
    describe('match (40 %)', () => {
      it('is 0.6 for the tool, +0.2 when its version is known, +0.2 × the share of preferences met', () => {
        expect(matchScore(task(), worker('w', { tools: [{ name: 'shell', version: null, health: 'healthy' as const, auth: 'ok' as const }] }))).toBeCloseTo(
          0.8,
        );
        expect(matchScore(task(), worker('w'))).toBeCloseTo(1);
        const wantsModel = task({ tool: 'ollama', model: 'llama3' });
        const ollama = [{ name: 'ollama' as const, version: '0.5', health: 'healthy' as const, auth: 'ok' as const }];
        expect(matchScore(wantsModel, worker('w', { tools: ollama }))).toBeCloseTo(0.8);
        expect(matchScore(wantsModel, worker('w', { tools: ollama, labels: ['model:llama3'] }))).toBeCloseTo(1);
        const modelAndLabel = task({ tool: 'ollama', model: 'llama3', requirements: { labels: ['gpu'] } });
        expect(matchScore(modelAndLabel, worker('w', { tools: ollama, labels: ['gpu'] }))).toBeCloseTo(0.9);
      });
      it('prefers the worker advertising the requested model', () => {
        const ollama = [{ name: 'ollama' as const, version: '0.5', health: 'healthy' as const, auth: 'ok' as const }];
        const outcome = decide(task({ tool: 'ollama', model: 'llama3' }), [
          worker('a', { tools: ollama }),
          worker('b', { tools: ollama, labels: ['model:llama3'] }),
        ]);
        expect(outcome).toMatchObject({ kind: 'decided', workerId: 'b' });
      });
    });

    describe('availability (30 %)', () => {
      it('is the mean of free CPU share, free memory share and free slot share', () => {
        const w = worker('w', {
          heartbeat: heartbeat({ cpuPercent: 40, memUsedMb: 4_000, memTotalMb: 16_000, slots: { total: 4, used: 1 }, running: [{ taskId: 'x', attempt: 1 }] }),
        });
        expect(availabilityScore(w, capacityOf(w, now))).toBeCloseTo((0.6 + 0.75 + 0.75) / 3);
      });
      it('assumes half for CPU and memory before the first heartbeat', () => {
        const w = worker('w', { heartbeat: null, slots: 2 });
        expect(availabilityScore(w, capacityOf(w, now))).toBeCloseTo((0.5 + 0.5 + 1) / 3);
      });
    });

    describe('balance (20 %)', () => {
      it('is 0.5 at the fleet average, higher for a less busy worker, clamped to [0, 1]', () => {
        expect(balanceScore(0.5, 0.5)).toBe(0.5);
        expect(balanceScore(0, 0.5)).toBe(0.75);
        expect(balanceScore(1, 0)).toBe(0);
        expect(balanceScore(0, 1)).toBe(1);
      });
      it('sends the task to the worker with fewer running tasks relative to its slots', () => {
        const busy = worker('a', { heartbeat: heartbeat({ slots: { total: 4, used: 3 }, running: [] }) });
        const idle = worker('b', { heartbeat: heartbeat({ slots: { total: 4, used: 0 }, running: [] }) });
        const outcome = decide(task(), [busy, idle]);
        expect(outcome).toMatchObject({ kind: 'decided', workerId: 'b' });
        const scores = (id: string) => outcome.candidates.find((c) => c.workerId === id)!.scores;
        // fleet load 3/8: a = 0.5 + (0.375 − 0.75)/2, b = 0.5 + 0.375/2
        expect(scores('a').balance).toBeCloseTo(0.3125);
        expect(scores('b').balance).toBeCloseTo(0.6875);
      });
    });

    describe('affinity (10 %)', () => {
      it(`grows with the owner's recent tasks on the worker and saturates at ${AFFINITY_SATURATION}`, () => {
        const outcome = decide(task(), [worker('a'), worker('b'), worker('c')], { a: 1, b: 5 });
        const affinity = (id: string) => outcome.candidates.find((c) => c.workerId === id)!.scores.affinity;
        expect([affinity('a'), affinity('b'), affinity('c')]).toEqual([0.3333, 1, 0]);
        expect(outcome).toMatchObject({ kind: 'decided', workerId: 'b' });
      });
    });

    describe('total', () => {
      it('weighs match 40 %, availability 30 %, balance 20 %, affinity 10 %', () => {
        expect(scoreWeights.match + scoreWeights.availability + scoreWeights.balance + scoreWeights.affinity).toBeCloseTo(1);
        const outcome = decide(
          task(),
          [
            worker('a'),
            worker('b', {
              heartbeat: heartbeat({ cpuPercent: 90 }),
              tools: [{ name: 'shell', version: null, health: 'healthy' as const, auth: 'ok' as const }],
            }),
          ],
          {
            b: 2,
          },
        );
        for (const c of outcome.candidates) {
          const { match, availability, balance, affinity, total } = c.scores;
          expect(total).toBeCloseTo(0.4 * match + 0.3 * availability + 0.2 * balance + 0.1 * affinity, 3);
          for (const s of [match, availability, balance, affinity, total]) {
            expect(s).toBeGreaterThanOrEqual(0);
            expect(s).toBeLessThanOrEqual(1);
          }
        }
      });
      it('picks the highest total', () => {
        const outcome = decide(task(), [worker('a', { heartbeat: heartbeat({ cpuPercent: 90 }) }), worker('b')]);
        expect(outcome).toMatchObject({ kind: 'decided', workerId: 'b' });
        const [a, b] = outcome.candidates;
        expect(b!.scores.total).toBeGreaterThan(a!.scores.total);
      });
    });

    describe('when two workers score the same', () => {
      it('picks the smaller worker id, whatever order they come in', () => {
        const ws = [worker('w-b'), worker('w-a'), worker('w-c')];
        expect(decide(task(), ws)).toMatchObject({ kind: 'decided', workerId: 'w-a' });
        expect(decide(task(), [...ws].reverse())).toMatchObject({ kind: 'decided', workerId: 'w-a' });
      });
      it('lists the candidates in worker id order', () => {
        expect(decide(task(), [worker('w-b'), worker('w-a')]).candidates.map((c) => c.workerId)).toEqual(['w-a', 'w-b']);
      });
    });
  });

  describe('anti-affinity', () => {
    const grouped = task({ taskId: 't-3', requirements: { antiAffinity: 'run-1:build' } });
    const withGroup = (t: TaskToPlace, ws: WorkerSnapshot[], groupWorkers: string[]) =>
      decideAllocation(t, ws, { now, recentTasksOfOwner: new Map(), groupWorkers: new Set(groupWorkers) });

    describe('when a worker holds or has run another task of the group', () => {
      it('rejects it, saying which group, and places the task on a worker without one', () => {
        const outcome = withGroup(grouped, [worker('w1'), worker('w2'), worker('w3')], ['w1', 'w3']);
        expect(outcome).toMatchObject({ kind: 'decided', workerId: 'w2' });
        expect(reasonsOf(outcome, 'w1')).toEqual(['anti-affinity: already has a task of group run-1:build']);
        expect(reasonsOf(outcome, 'w3')).toEqual(['anti-affinity: already has a task of group run-1:build']);
      });
    });

    describe('when every worker has one', () => {
      it('defers with the reason on each candidate — a wait worth recording, not one for a slot', () => {
        const outcome = withGroup(grouped, [worker('w1'), worker('w2', { slots: 1, heartbeat: heartbeat({ slots: { total: 1, used: 1 } }) })], ['w1', 'w2']);
        expect(outcome.kind).toBe('deferred');
        expect(reasonsOf(outcome, 'w1')).toEqual(['anti-affinity: already has a task of group run-1:build']);
        expect(reasonsOf(outcome, 'w2')).toEqual(['no free slot: 1 of 1 in use', 'anti-affinity: already has a task of group run-1:build']);
        expect(waitsOnlyForASlot(outcome)).toBe(false);
        expect(candidatePicture(outcome)).toBe('w1=anti-affinity;w2=no free slot|anti-affinity');
      });
    });

    describe('when the task names no group', () => {
      it('ignores where other tasks ran', () => {
        expect(withGroup(task(), [worker('w1')], ['w1'])).toMatchObject({ kind: 'decided', workerId: 'w1' });
      });
    });

    describe('workersOfGroup', () => {
      it('lists the workers of the group’s other tasks, not where the task itself was placed before', () => {
        const placements = [
          { taskId: 't-1', workerId: 'w1' },
          { taskId: 't-2', workerId: 'w2' },
          { taskId: 't-3', workerId: 'w3' },
        ];
        expect([...workersOfGroup(placements, 't-3')].sort()).toEqual(['w1', 'w2']);
        expect(workersOfGroup([], 't-3').size).toBe(0);
      });
    });
  });

  describe('a follow-up on an earlier attempt’s workspace branch', () => {
    const branch = 'agentyard/3f1c2a4e-0000-4000-8000-000000000001-1';
    const followUp = task({ taskId: 't-5' });
    const onBranch = (ws: WorkerSnapshot[], checkout: { workerId: string; pushed: boolean }, recent: Record<string, number> = {}) =>
      decideAllocation(followUp, ws, { now, recentTasksOfOwner: new Map(Object.entries(recent)), checkout: { branch, ...checkout } });

    describe('when the branch was not pushed', () => {
      it('goes only to the worker that ran the attempt; the others say where the branch is, by name', () => {
        const ws = [worker('w1', { name: 'laptop' }), worker('w2', { name: 'builder' }), worker('w3')];
        const outcome = onBranch(ws, { workerId: 'w2', pushed: false });
        expect(outcome).toMatchObject({ kind: 'decided', workerId: 'w2' });
        expect(reasonsOf(outcome, 'w1')).toEqual([`branch ${branch} is only on worker builder`]);
        expect(reasonsOf(outcome, 'w3')).toEqual([`branch ${branch} is only on worker builder`]);
        expect(outcome.candidates.find((c) => c.workerId === 'w2')!.scores.affinity).toBe(1);
      });
      it('lands there even when another worker would score far higher', () => {
        const busy = worker('w2', { name: 'builder', heartbeat: heartbeat({ workerId: 'w2', cpuPercent: 99, slots: { total: 4, used: 3 } }), slots: 4 });
        expect(onBranch([worker('w1'), busy], { workerId: 'w2', pushed: false }, { w1: 5 })).toMatchObject({ kind: 'decided', workerId: 'w2' });
      });
      it('waits while that worker is offline, and every reason says so', () => {
        const outcome = onBranch([worker('w1'), worker('w2', { name: 'builder', online: false })], { workerId: 'w2', pushed: false });
        expect(outcome.kind).toBe('deferred');
        expect(reasonsOf(outcome, 'w2')).toEqual(['offline']);
        expect(reasonsOf(outcome, 'w1')).toEqual([`branch ${branch} is only on worker builder: it is offline, the task waits for it`]);
        // A deferral worth recording: nothing but that worker could take it.
        expect(waitsOnlyForASlot(outcome)).toBe(false);
      });
      it('waits for a slot there without a deferral, like any queued task', () => {
        const full = worker('w2', { slots: 1, heartbeat: heartbeat({ workerId: 'w2', slots: { total: 1, used: 1 } }) });
        const outcome = onBranch([worker('w1'), full], { workerId: 'w2', pushed: false });
        expect(outcome.kind).toBe('deferred');
        expect(waitsOnlyForASlot(outcome)).toBe(true);
      });
      it('names the worker by id when allocation does not know its name, or the worker at all', () => {
        expect(reasonsOf(onBranch([worker('w1'), worker('w2')], { workerId: 'w2', pushed: false }), 'w1')).toEqual([`branch ${branch} is only on worker w2`]);
        const gone = onBranch([worker('w1')], { workerId: 'w9', pushed: false });
        expect(gone.kind).toBe('deferred');
        expect(reasonsOf(gone, 'w1')).toEqual([`branch ${branch} is only on worker w9: it is offline, the task waits for it`]);
      });
    });

    describe('when the branch was pushed', () => {
      it('may go anywhere, and prefers the worker that ran the attempt when the rest is even', () => {
        const outcome = onBranch([worker('w1'), worker('w2')], { workerId: 'w2', pushed: true });
        expect(outcome).toMatchObject({ kind: 'decided', workerId: 'w2' });
        expect(outcome.candidates.every((c) => c.eligible)).toBe(true);
        expect(outcome.candidates.map((c) => c.scores.affinity)).toEqual([0, 1]);
      });
      it('prefers it over a worker with more of the owner’s recent tasks (their affinity is capped)', () => {
        const outcome = onBranch([worker('w1'), worker('w2')], { workerId: 'w2', pushed: true }, { w1: 5 });
        expect(outcome).toMatchObject({ kind: 'decided', workerId: 'w2' });
        expect(outcome.candidates.map((c) => c.scores.affinity)).toEqual([0.5, 1]);
      });
      it('goes elsewhere when that worker cannot take it', () => {
        const outcome = onBranch([worker('w1'), worker('w2', { drained: true })], { workerId: 'w2', pushed: true });
        expect(outcome).toMatchObject({ kind: 'decided', workerId: 'w1' });
        expect(reasonsOf(outcome, 'w2')).toEqual(['drained']);
      });
    });
  });

  describe('a follow-up that resumes the earlier attempt’s tool session', () => {
    const branch = 'agentyard/3f1c2a4e-0000-4000-8000-000000000001-1';
    const resumes = (ws: WorkerSnapshot[], pushed: boolean) =>
      decideAllocation(task({ taskId: 't-6', tool: 'claude-code' }), ws, {
        now,
        recentTasksOfOwner: new Map(),
        checkout: { branch, workerId: 'w2', pushed, session: true },
      });
    const claude = [{ name: 'claude-code' as const, version: '2.1', health: 'healthy' as const, auth: 'ok' as const }];

    it('goes to the worker that ran the attempt even when its branch was pushed: the session is kept there only', () => {
      const outcome = resumes([worker('w1', { tools: claude }), worker('w2', { name: 'builder', tools: claude })], true);
      expect(outcome).toMatchObject({ kind: 'decided', workerId: 'w2' });
      expect(reasonsOf(outcome, 'w1')).toEqual([`session of ${branch} is kept only on worker builder`]);
    });
    it('lands there although another worker would score far higher', () => {
      const busy = worker('w2', { tools: claude, slots: 4, heartbeat: heartbeat({ workerId: 'w2', cpuPercent: 99, slots: { total: 4, used: 3 } }) });
      expect(resumes([worker('w1', { tools: claude }), busy], true)).toMatchObject({ kind: 'decided', workerId: 'w2' });
    });
    it('waits while that worker is offline, with a deferral saying so, instead of failing elsewhere', () => {
      const outcome = resumes([worker('w1', { tools: claude }), worker('w2', { name: 'builder', tools: claude, online: false })], true);
      expect(outcome.kind).toBe('deferred');
      expect(reasonsOf(outcome, 'w2')).toEqual(['offline']);
      expect(reasonsOf(outcome, 'w1')).toEqual([`session of ${branch} is kept only on worker builder: it is offline, the task waits for it`]);
      expect(waitsOnlyForASlot(outcome)).toBe(false);
    });
    it('without resumeSession, a pushed branch still goes anywhere', () => {
      const outcome = decideAllocation(
        task({ taskId: 't-6', tool: 'claude-code' }),
        [worker('w1', { tools: claude }), worker('w2', { tools: claude, online: false })],
        {
          now,
          recentTasksOfOwner: new Map(),
          checkout: { branch, workerId: 'w2', pushed: true, session: false },
        },
      );
      expect(outcome).toMatchObject({ kind: 'decided', workerId: 'w1' });
    });
  });

  describe('the record of a decision in a large fleet', () => {
    const many = (n: number, extra: (i: number) => Partial<WorkerSnapshot> = () => ({})) =>
      Array.from({ length: n }, (_, i) => worker(`w${String(i).padStart(2, '0')}`, extra(i)));

    it(`lists the best ${TOP_CANDIDATES} with scores and reasons, and counts the others by the stable part of their reasons`, () => {
      const ws = [
        ...many(8, (i) => ({ heartbeat: heartbeat({ cpuPercent: 10 * i }) })),
        worker('x1', { tools: [] }),
        worker('x2', { tools: [] }),
        worker('x3', { slots: 1, heartbeat: heartbeat({ slots: { total: 1, used: 1 } }) }),
      ];
      const outcome = decide(task(), ws);
      expect(outcome).toMatchObject({ kind: 'decided', workerId: 'w00' });
      expect(outcome.candidates.map((c) => c.workerId)).toEqual(['w00', 'w01', 'w02', 'w03', 'w04']);
      expect(outcome.others).toEqual([
        { reasons: [], count: 3 },
        { reasons: ['lacks tool shell'], count: 2 },
        { reasons: ['no free slot'], count: 1 },
      ]);
    });
    it('lists the worker a task is pinned to, however it scores', () => {
      const ws = [...many(7), worker('z9', { tools: [] })];
      const outcome = decide(task({ requirements: { workerId: 'z9' } }), ws);
      expect(outcome.kind).toBe('deferred');
      expect(outcome.candidates.map((c) => c.workerId)).toContain('z9');
      expect(reasonsOf(outcome, 'z9')).toEqual(['lacks tool shell']);
    });
    it('lists, among the ineligible, those the owner may use first, nearest to fitting first', () => {
      const theirs = many(6, () => ({ ownerId: 'bob', roles: { bob: 'owner' } }));
      const outcome = decide(task(), [...theirs, worker('y1', { tools: [] }), worker('y2', { tools: [], heartbeat: heartbeat({ draining: true }) })]);
      expect(outcome.kind).toBe('deferred');
      // By id alone w00…w04 would be listed; y1 and y2 (the owner's, one and two reasons) come first.
      expect(outcome.candidates.map((c) => c.workerId)).toEqual(['w00', 'w01', 'w02', 'y1', 'y2']);
      expect(outcome.others).toEqual([{ reasons: ["not allowed for the task's owner"], count: 3 }]);
    });
    it('adds the workers it was not handed (offline, revoked, drained) from their counts', () => {
      const outcome = decideAllocation(task(), [worker('w1')], {
        now,
        recentTasksOfOwner: new Map(),
        unavailable: [
          { reasons: ['offline'], count: 1995 },
          { reasons: ['offline', "not allowed for the task's owner"], count: 2 },
        ],
      });
      expect(outcome).toMatchObject({ kind: 'decided', workerId: 'w1' });
      expect(outcome.others).toEqual([
        { reasons: ['offline'], count: 1995 },
        { reasons: ['offline', "not allowed for the task's owner"], count: 2 },
      ]);
    });
    it('takes a pinned worker it was handed although unavailable out of its count, so it is not counted twice', () => {
      const drained = worker('w9', { drained: true });
      const outcome = decideAllocation(task({ requirements: { workerId: 'w9' } }), [worker('w1'), drained], {
        now,
        recentTasksOfOwner: new Map(),
        unavailable: [
          { reasons: ['drained'], count: 1 },
          { reasons: ['offline'], count: 10 },
        ],
      });
      expect(outcome.kind).toBe('deferred');
      expect(reasonsOf(outcome, 'w9')).toEqual(['drained']);
      expect(outcome.others).toEqual([{ reasons: ['offline'], count: 10 }]);
    });
    it('counts the unavailable workers by the same reasons rejectionsOf gives them', () => {
      expect(unavailableReasons({ registered: true, online: false, revoked: false, drained: false }, true)).toEqual(['offline']);
      expect(unavailableReasons({ registered: false, online: false, revoked: true, drained: true }, false)).toEqual([
        'not registered',
        'offline',
        'credential revoked',
        'drained',
        "not allowed for the task's owner",
      ]);
      const w = worker('w1', { online: false, drained: true, ownerId: 'bob', roles: { bob: 'owner' } });
      expect(decide(task(), [w]).candidates[0]!.rejectedBecause.map((r) => r.split(':')[0])).toEqual(expect.arrayContaining(unavailableReasons(w, false)));
      expect(isAvailable(worker('w1'))).toBe(true);
      expect(isAvailable(w)).toBe(false);
    });
  });

  describe('a task naming a model', () => {
    const chat = (models: string[] | null | undefined) => [
      { name: 'ollama' as const, version: 'api', health: 'healthy' as const, auth: 'ok' as const, ...(models === undefined ? {} : { models }) },
    ];
    const asks = (model: string) => task({ tool: 'ollama', model });

    it('goes only to a worker whose tool lists it, the others saying which model, tool and worker', () => {
      const outcome = decide(asks('qwen2.5-coder:7b'), [
        worker('w1', { name: 'laptop', tools: chat(['llama3:latest']) }),
        worker('w2', { tools: chat(['llama3:latest', 'qwen2.5-coder:7b']) }),
      ]);
      expect(outcome).toMatchObject({ kind: 'decided', workerId: 'w2' });
      expect(reasonsOf(outcome, 'w1')).toEqual(['model qwen2.5-coder:7b is not offered by ollama: laptop does not list it']);
    });
    it('reads a bare Ollama name as its :latest tag', () => {
      expect(decide(asks('llama3'), [worker('w1', { tools: chat(['llama3:latest']) })])).toMatchObject({ kind: 'decided', workerId: 'w1' });
      expect(decide(asks('llama3:8b'), [worker('w1', { tools: chat(['llama3:latest']) })]).kind).toBe('deferred');
    });
    it('defers with the reason on every worker when none offers it — a wait worth recording', () => {
      const outcome = decide(asks('absent-model'), [worker('w1', { tools: chat(['llama3:latest']) }), worker('w2', { tools: chat([]) })]);
      expect(outcome.kind).toBe('deferred');
      expect(reasonsOf(outcome, 'w1')).toEqual(['model absent-model is not offered by ollama: w1 does not list it']);
      expect(reasonsOf(outcome, 'w2')).toEqual(['model absent-model is not offered by ollama: w2 does not list it']);
      expect(waitsOnlyForASlot(outcome)).toBe(false);
      expect(candidatePicture(outcome)).toBe('w1=model absent-model is not offered by ollama;w2=model absent-model is not offered by ollama');
    });
    it('does not judge a tool without a model list (a CLI, an older agent, a list too long), nor a task naming no model', () => {
      expect(decide(asks('anything'), [worker('w1', { tools: chat(undefined) })])).toMatchObject({ kind: 'decided' });
      expect(decide(asks('anything'), [worker('w1', { tools: chat(null) })])).toMatchObject({ kind: 'decided' });
      expect(decide(task({ tool: 'ollama', model: null }), [worker('w1', { tools: chat([]) })])).toMatchObject({ kind: 'decided' });
    });
  });

  describe('when there are no workers at all', () => {
    it('defers with no candidates', () => {
      expect(decide(task(), [])).toEqual({ kind: 'deferred', candidates: [], others: [] });
    });
  });
});

describe('candidatePicture', () => {
  it('ignores the figures after the colon of a reason, which move with every heartbeat', () => {
    const a = decide(task({ requirements: { minMemoryMb: 20_000 } }), [worker('w1', { heartbeat: heartbeat({ memUsedMb: 1_000 }) })]);
    const b = decide(task({ requirements: { minMemoryMb: 20_000 } }), [worker('w1', { heartbeat: heartbeat({ memUsedMb: 9_000 }) })]);
    expect(reasonsOf(a, 'w1')).not.toEqual(reasonsOf(b, 'w1'));
    expect(candidatePicture(a)).toBe(candidatePicture(b));
  });
  it('changes when the count of a reason changes', () => {
    const picture = (offline: number) => candidatePicture({ candidates: [], others: [{ reasons: ['offline'], count: offline }] });
    expect(picture(3)).not.toBe(picture(4));
  });
  it('ignores workers the owner has no role on, listed or counted: how they come and go is not the owner’s business', () => {
    const theirs = decide(task(), [worker('w1', { online: false }), worker('x1', { ownerId: 'bob', roles: { bob: 'owner' } })]);
    const without = decide(task(), [worker('w1', { online: false })]);
    expect(candidatePicture(theirs)).toBe(candidatePicture(without));
    const counted = (n: number) => candidatePicture({ candidates: [], others: [{ reasons: ['offline', "not allowed for the task's owner"], count: n }] });
    expect(counted(1)).toBe(counted(500));
  });
  it('changes when a worker comes online or a reason goes away', () => {
    const offline = decide(task(), [worker('w1', { online: false })]);
    const online = decide(task(), [worker('w1')]);
    expect(candidatePicture(offline)).not.toBe(candidatePicture(online));
  });
});

describe('waitsOnlyForASlot', () => {
  const full = (id: string, extra: Partial<WorkerSnapshot> = {}) =>
    worker(id, { slots: 1, heartbeat: heartbeat({ slots: { total: 1, used: 1 }, running: [{ taskId: `busy-${id}`, attempt: 1 }] }), ...extra });

  it('is true when a worker would take the task but for its busy slots', () => {
    const outcome = decide(task(), [full('w1'), worker('w2', { online: false })]);
    expect(outcome.kind).toBe('deferred');
    expect(waitsOnlyForASlot(outcome)).toBe(true);
  });
  it('sees a counted worker that waits only for a slot', () => {
    expect(waitsOnlyForASlot({ candidates: [], others: [{ reasons: ['no free slot'], count: 2 }] })).toBe(true);
    expect(waitsOnlyForASlot({ candidates: [], others: [{ reasons: ['no free slot', 'lacks tool shell'], count: 2 }] })).toBe(false);
  });
  it('is false when every worker fails another filter too, or there is no worker', () => {
    expect(waitsOnlyForASlot(decide(task({ tool: 'ollama' }), [full('w1')]))).toBe(false); // busy and lacks the tool
    expect(waitsOnlyForASlot(decide(task(), [worker('w1', { online: false })]))).toBe(false);
    expect(waitsOnlyForASlot({ candidates: [] })).toBe(false);
  });
});
