import { DomainError } from '@agentyard/contracts';
import { nodeTaskId, decide, type DecidedRunEvent } from './run.decide';
import { OWNER, RunScenario } from './run.scenario';

const shell = (command: string) => ({ tool: 'shell' as const, input: { command } });

/** The payload of a NodeScheduled event, narrowed on its type (fails the test for any other event). */
function scheduled(e: DecidedRunEvent | undefined) {
  if (e?.type !== 'NodeScheduled') throw new Error(`expected NodeScheduled, got ${e?.type}`);
  return e.data;
}

function refused(fn: () => unknown, code: DomainError['code'], message?: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).code).toBe(code);
  if (message) expect((error as DomainError).message).toMatch(message);
}

describe('Run', () => {
  describe('when a sequential workflow runs', () => {
    const definition = {
      name: 'chain',
      kind: 'sequential',
      parameters: [{ name: 'repo', required: true }],
      steps: [
        { id: 'plan', task: shell('echo plan {{run.input.repo}}') },
        { id: 'build', task: shell('echo {{nodes.plan.output.target | shell}}') },
        { id: 'ship', task: shell('echo {{inputs.build.exitCode}}') },
      ],
    };

    it("keeps the last 8 KiB of a node's text in bytes of UTF-8, cut on a character boundary", () => {
      const s = new RunScenario();
      s.start(definition, { repo: 'r' });
      s.started('plan');
      const text = 'head ' + '€'.repeat(5_000); // 3 bytes each: 15,005 bytes, 5,005 characters
      const events = s.finish('plan', 'succeeded', { text });
      const kept = (events.find((e) => e.type === 'NodeSucceeded')!.data as { text: string }).text;
      expect(Buffer.byteLength(kept, 'utf8')).toBeLessThanOrEqual(8 * 1024);
      expect(Buffer.byteLength(kept, 'utf8')).toBeGreaterThan(8 * 1024 - 3);
      expect(kept).toMatch(/^€+$/);
      expect((s.finish('plan', 'succeeded', { text: 'short' }), s.node('plan').text)).toBe(kept);
    });

    it('schedules the first step with its templates rendered and a task id derived from its position', () => {
      const s = new RunScenario();
      const events = s.start(definition, { repo: 'git@x:y' });
      expect(s.types(events)).toEqual(['RunStarted', 'NodeScheduled:plan']);
      const scheduledNode = scheduled(events[1]);
      expect(scheduledNode.task.input.command).toBe('echo plan git@x:y');
      expect(scheduledNode.taskId).toBe(nodeTaskId(s.runId, 'plan', 0, 0));
      expect(scheduledNode.ownerId).toBe(OWNER);
    });

    it("passes each step's output to the next and succeeds at the end", () => {
      const s = new RunScenario();
      s.start(definition, { repo: 'r' });
      s.started('plan');
      expect(s.node('plan').status).toBe('running');
      const events = s.finish('plan', 'succeeded', { output: { target: "it's prod" } });
      expect(s.types(events)).toEqual(['NodeSucceeded:plan', 'EdgesDecided', 'NodeScheduled:build']);
      expect(scheduled(events[2]).task.input.command).toBe(`echo 'it'\\''s prod'`);
      s.finish('build');
      expect(scheduled(s.steps.at(-1)!.events.at(-1)).task.input.command).toBe('echo 0');
      expect(s.types(s.finish('ship'))).toEqual(['NodeSucceeded:ship', 'RunSucceeded']);
      expect(s.state.status).toBe('succeeded');
    });

    it('refuses a run without a required parameter, naming it', () => {
      refused(() => new RunScenario().start(definition, {}), 'VALIDATION_FAILED', /repo is required/);
      refused(() => new RunScenario().start(definition, { repo: 'r', nope: 1 }), 'VALIDATION_FAILED', /nope is not a parameter/);
    });

    it('fails a step whose template reads a field that is not there, naming the path', () => {
      const s = new RunScenario();
      s.start(definition, { repo: 'r' });
      const events = s.finish('plan', 'succeeded', { output: { other: 1 } });
      expect(s.types(events)).toEqual(['NodeSucceeded:plan', 'EdgesDecided', 'NodeFailed:build', 'EdgesDecided', 'NodeSkipped:ship', 'RunFailed']);
      expect(s.node('build').reason).toMatch(/nodes\.plan\.output\.target.*has no field target/);
      expect(s.state.error).toMatch(/node build failed/);
    });

    it('fails the run when a step fails, skipping what depends on it', () => {
      const s = new RunScenario();
      s.start(definition, { repo: 'r' });
      s.finish('plan', 'failed', { exitCode: 2 });
      expect(s.node('build').status).toBe('skipped');
      expect(s.state.status).toBe('failed');
      expect(s.state.error).toBe('node plan failed: exited with code 2');
    });
  });

  describe('fencing and idempotence', () => {
    const definition = {
      name: 'one',
      kind: 'sequential',
      steps: [
        { id: 'a', task: shell('true') },
        { id: 'b', task: shell('true') },
      ],
    };

    it('ignores a task event for a task that is not the node’s current one, and a repeated one', () => {
      const s = new RunScenario();
      s.start(definition);
      const stale = nodeTaskId(s.runId, 'a', 0, 7);
      expect(
        decide(
          { kind: 'RecordTaskFinished', taskId: stale, outcome: 'succeeded', exitCode: 0, output: undefined, text: '', error: null, durationMs: 1, now: s.now },
          s.state,
        ),
      ).toEqual([]);
      const taskA = s.taskOf('a');
      s.finish('a');
      expect(
        decide(
          { kind: 'RecordTaskFinished', taskId: taskA, outcome: 'failed', exitCode: 1, output: undefined, text: '', error: null, durationMs: 1, now: s.now },
          s.state,
        ),
      ).toEqual([]);
      expect(decide({ kind: 'RecordTaskStarted', taskId: taskA, workerId: 'w', attempt: 1, now: s.now }, s.state)).toEqual([]);
    });

    it("is another user's business: every person command is NOT_FOUND", () => {
      const s = new RunScenario();
      s.start(definition);
      const stranger = { userId: 'someone-else' };
      for (const command of [
        { kind: 'PauseRun' as const, actor: stranger, now: s.now },
        { kind: 'CancelRun' as const, actor: stranger, now: s.now },
        { kind: 'RetryNode' as const, actor: stranger, nodeId: 'a', now: s.now },
        { kind: 'DecideApproval' as const, actor: stranger, nodeId: 'a', decision: 'approve' as const, now: s.now },
      ])
        refused(() => decide(command, s.state), 'NOT_FOUND');
    });
  });

  describe('when a concurrent workflow runs', () => {
    it('runs the copies at once with one anti-affinity group and joins on all', () => {
      const s = new RunScenario();
      const events = s.start({ name: 'c', kind: 'concurrent', count: 2, task: shell('hostname'), then: shell('echo {{inputs.join.output | json}}') });
      expect(s.types(events)).toEqual(['RunStarted', 'NodeScheduled:copy1', 'NodeScheduled:copy2']);
      const groups = events.slice(1).map((e) => (e.data as { task: { requirements: { antiAffinity?: string } } }).task.requirements.antiAffinity);
      expect(groups).toEqual([`${s.runId}:copies`, `${s.runId}:copies`]);
      s.finish('copy2', 'succeeded', { output: { host: 'b' } });
      expect(s.node('join').status).toBe('pending');
      s.finish('copy1', 'succeeded', { output: { host: 'a' } });
      expect(s.node('join').output).toEqual({ copy1: { host: 'a' }, copy2: { host: 'b' } });
      s.finish('then');
      expect(s.state.status).toBe('succeeded');
    });

    it('on join any, goes on with the first success and cancels the copies still running', () => {
      const s = new RunScenario();
      s.start({ name: 'c', kind: 'concurrent', count: 3, join: 'any', task: shell('work') });
      const events = s.finish('copy2');
      expect(s.types(events)).toEqual([
        'NodeSucceeded:copy2',
        'EdgesDecided',
        'NodeCancelled:copy1',
        'NodeCancelled:copy3',
        'NodeSucceeded:join',
        'EdgesDecided',
        'RunSucceeded',
      ]);
      expect((events[2]!.data as { taskId: string }).taskId).toBe(nodeTaskId(s.runId, 'copy1', 0, 0));
    });

    it('on join k of n, survives a failed copy', () => {
      const s = new RunScenario();
      s.start({ name: 'c', kind: 'concurrent', count: 3, join: { k: 2 }, task: shell('work') });
      s.finish('copy1', 'failed');
      s.finish('copy2');
      expect(s.node('join').status).toBe('pending');
      s.finish('copy3');
      expect(s.state.status).toBe('succeeded');
    });
  });

  describe('when a graph with a conditional loop runs', () => {
    const definition = {
      name: 'fix loop',
      kind: 'graph',
      nodes: [
        { id: 'code', type: 'task', task: shell('echo code') },
        { id: 'test', type: 'task', task: shell('test {{node.iteration}} -ge 2') },
        { id: 'fix', type: 'task', task: shell('echo fixing after {{nodes.test.exitCode}}') },
        { id: 'ship', type: 'task', task: shell('echo ship') },
      ],
      edges: [
        { from: 'code', to: 'test' },
        { from: 'test', to: 'fix', condition: 'nodes.test.exitCode != 0' },
        { from: 'fix', to: 'test', loop: { maxIterations: 2 } },
        { from: 'test', to: 'ship', condition: 'nodes.test.exitCode == 0' },
      ],
    };

    it('takes the false branch, loops back twice, then exits through the true one', () => {
      const s = new RunScenario();
      s.start(definition);
      s.finish('code');
      expect(s.steps.at(-1)!.events.at(-1)!.data).toMatchObject({ nodeId: 'test', task: { input: { command: 'test 0 -ge 2' } } });
      s.finish('test', 'failed', { exitCode: 1 });
      expect(s.node('ship').status).toBe('skipped');
      expect(s.node('fix').status).toBe('scheduled');
      const back = s.finish('fix');
      expect(s.types(back)).toEqual(['NodeSucceeded:fix', 'LoopedBack', 'NodeScheduled:test']);
      expect(back[1]!.data).toMatchObject({ edgeId: 'fix->test', count: 1, reset: ['test', 'fix', 'ship'] });
      expect(s.node('test')).toMatchObject({ iteration: 1, status: 'scheduled' });
      expect(s.taskOf('test')).toBe(nodeTaskId(s.runId, 'test', 1, 0));
      s.finish('test', 'failed', { exitCode: 1 });
      s.finish('fix');
      expect(s.node('test').iteration).toBe(2);
      expect(s.steps.at(-1)!.events.at(-1)!.data).toMatchObject({ task: { input: { command: 'test 2 -ge 2' } } });
      s.finish('test');
      expect(s.node('fix').status).toBe('skipped');
      s.finish('ship');
      expect(s.state.status).toBe('succeeded');
      expect(s.state.loops['fix->test']).toBe(2);
    });

    it('fails the run when the loop runs out of iterations and its condition still holds', () => {
      const s = new RunScenario();
      s.start(definition);
      s.finish('code');
      for (let i = 0; i < 3; i++) {
        s.finish('test', 'failed', { exitCode: 1 });
        s.finish('fix');
      }
      expect(s.state.status).toBe('failed');
      expect(s.state.error).toMatch(/loop-back edge fix->test ran all 2 iterations/);
    });
  });

  describe('when a hierarchical workflow runs', () => {
    const definition = {
      name: 'director',
      kind: 'hierarchical',
      director: shell('plan'),
      plan: { maxSteps: 5, step: shell('echo {{step.command}}'), review: shell('echo review {{inputs | json}}') },
    };
    const plan = {
      steps: [
        { id: 'a', description: 'first', command: 'one' },
        { id: 'b', description: 'second', command: 'two', dependsOn: ['a'] },
        { id: 'c', description: 'third', command: 'three' },
      ],
    };

    it('expands a three-step plan into nodes that follow its dependencies, then reviews', () => {
      const s = new RunScenario();
      s.start(definition);
      const events = s.finish('director', 'succeeded', { output: plan });
      expect(s.types(events)).toEqual([
        'NodeSucceeded:director',
        'PlanExpanded:director',
        'EdgesDecided',
        'NodeScheduled:director_a',
        'NodeScheduled:director_c',
      ]);
      expect(events[3]!.data).toMatchObject({ task: { input: { command: 'echo one' } } });
      s.finish('director_a');
      expect(s.node('director_b').status).toBe('scheduled');
      s.finish('director_c');
      s.finish('director_b');
      expect(s.node('director_done').status).toBe('succeeded');
      expect(s.node('director_review').status).toBe('scheduled');
      s.finish('director_review');
      expect(s.state.status).toBe('succeeded');
      expect(s.state.graph.nodes.map((n) => n.id)).toEqual(['director', 'director_a', 'director_b', 'director_c', 'director_done', 'director_review']);
    });

    it('fails the director node with the validation message when the plan does not match the schema', () => {
      const s = new RunScenario();
      s.start(definition);
      s.finish('director', 'succeeded', { output: { steps: [{ id: 'bad id!', description: 'x' }] } });
      expect(s.node('director').status).toBe('failed');
      expect(s.node('director').reason).toMatch(/the plan does not match the schema: steps\.0\.id/);
      expect(s.state.status).toBe('failed');
    });

    it('caps the fan-out and the depth', () => {
      const s = new RunScenario();
      s.start(definition);
      s.finish('director', 'succeeded', { output: { steps: Array.from({ length: 6 }, (_, i) => ({ id: `s${i}`, description: 'x', command: 'y' })) } });
      expect(s.node('director').reason).toMatch(/6 steps, more than the 5 allowed/);
      const t = new RunScenario();
      t.start(definition);
      t.finish('director', 'succeeded', { output: { steps: [{ id: 'deep', description: 'x', director: true }] } });
      expect(t.node('director').reason).toMatch(/plans again/);
    });

    it('fails a director that wrote no plan, saying where the plan goes', () => {
      const s = new RunScenario();
      s.start(definition);
      s.finish('director');
      expect(s.node('director').reason).toMatch(/AGENTYARD_OUTPUT/);
    });
  });

  describe('when a mixture runs', () => {
    const candidates = [
      { id: 'alpha', task: shell('a') },
      { id: 'beta', task: shell('b') },
      { id: 'gamma', task: shell('c') },
    ];

    it('picks the first success and cancels the others', () => {
      const s = new RunScenario();
      s.start({ name: 'm', kind: 'mixture', candidates, aggregator: { strategy: 'first-success' } });
      s.finish('beta', 'succeeded', { output: { answer: 'b' } });
      expect(s.node('pick')).toMatchObject({ status: 'succeeded', winner: 'beta', output: { answer: 'b' } });
      expect(s.inStatus('cancelled')).toEqual(['alpha', 'gamma']);
      expect(s.state.status).toBe('succeeded');
    });

    it('picks the shortest successful output once all are done', () => {
      const s = new RunScenario();
      s.start({ name: 'm', kind: 'mixture', candidates, aggregator: { strategy: 'shortest' } });
      s.finish('alpha', 'succeeded', { text: 'a long answer\n' });
      s.finish('beta', 'failed', { text: 'x' });
      expect(s.node('pick').status).toBe('pending');
      s.finish('gamma', 'succeeded', { text: 'short\n' });
      expect(s.node('pick').winner).toBe('gamma');
      expect(s.state.status).toBe('succeeded');
    });

    it('picks by majority vote on a field', () => {
      const s = new RunScenario();
      s.start({ name: 'm', kind: 'mixture', candidates, aggregator: { strategy: 'vote', voteOn: 'verdict' } });
      s.finish('alpha', 'succeeded', { output: { verdict: 'no' } });
      s.finish('beta', 'succeeded', { output: { verdict: 'yes', note: 1 } });
      s.finish('gamma', 'succeeded', { output: { verdict: 'yes', note: 2 } });
      expect(s.node('pick').winner).toBe('beta');
    });

    it('lets a judge that sees every candidate choose', () => {
      const s = new RunScenario();
      s.start({ name: 'm', kind: 'mixture', candidates, aggregator: { strategy: 'judge', judge: shell('judge {{inputs | json | shell}}') } });
      s.finish('alpha', 'succeeded', { output: 1 });
      s.finish('beta', 'succeeded', { output: 2 });
      const events = s.finish('gamma', 'succeeded', { output: 3 });
      const judgeInput = scheduled(events.find((e) => e.data.nodeId === 'judge')).task.input.command as string;
      expect(judgeInput).toContain('"gamma":{"status":"succeeded"');
      s.finish('judge', 'succeeded', { output: { winner: 'alpha', reason: 'cleanest' } });
      expect(s.node('pick')).toMatchObject({ winner: 'alpha', output: 1 });
    });

    it('fails the select when the judge names no candidate', () => {
      const s = new RunScenario();
      s.start({ name: 'm', kind: 'mixture', candidates, aggregator: { strategy: 'judge', judge: shell('judge') } });
      for (const c of ['alpha', 'beta', 'gamma']) s.finish(c);
      s.finish('judge', 'succeeded', { output: { winner: 'delta' } });
      expect(s.node('pick').reason).toMatch(/delta, which is not a candidate/);
    });

    it('waits for a person to pick, and accepts only a successful candidate', () => {
      const s = new RunScenario();
      s.start({ name: 'm', kind: 'mixture', candidates, aggregator: { strategy: 'manual' } });
      s.finish('alpha');
      s.finish('beta', 'failed');
      s.finish('gamma');
      expect(s.node('pick').status).toBe('waiting');
      refused(
        () => s.run({ kind: 'PickWinner', actor: { userId: OWNER }, nodeId: 'pick', winner: 'beta', now: s.now }),
        'VALIDATION_FAILED',
        /choose one of alpha, gamma/,
      );
      s.run({ kind: 'PickWinner', actor: { userId: OWNER }, nodeId: 'pick', winner: 'gamma', now: s.now });
      expect(s.node('pick').winner).toBe('gamma');
      expect(s.state.status).toBe('succeeded');
    });
  });

  describe('run control', () => {
    const fan = {
      name: 'fan',
      kind: 'graph',
      settings: { maxParallel: 2 },
      nodes: [
        { id: 'a', type: 'task', task: shell('a') },
        { id: 'b', type: 'task', task: shell('b') },
        { id: 'c', type: 'task', task: shell('c') },
        { id: 'd', type: 'task', task: shell('d') },
      ],
      edges: [{ from: 'a', to: 'd' }],
    };
    const owner = { userId: OWNER };

    it('keeps at most maxParallel tasks in flight', () => {
      const s = new RunScenario();
      s.start(fan);
      expect(s.inStatus('scheduled')).toEqual(['a', 'b']);
      s.finish('b');
      expect(s.inStatus('scheduled')).toEqual(['a', 'c']);
    });

    it('starts nothing new while paused, and goes on when resumed', () => {
      const s = new RunScenario();
      s.start(fan);
      s.run({ kind: 'PauseRun', actor: owner, now: s.now });
      expect(s.run({ kind: 'PauseRun', actor: owner, now: s.now })).toEqual([]);
      expect(s.types(s.finish('a'))).toEqual(['NodeSucceeded:a']);
      expect(s.inStatus('pending')).toEqual(['c', 'd']);
      const resumed = s.run({ kind: 'ResumeRun', actor: owner, now: s.now });
      expect(s.types(resumed)).toEqual(['RunResumed', 'EdgesDecided', 'NodeScheduled:c']);
    });

    it('cancels the tasks in flight when cancelled, naming each task', () => {
      const s = new RunScenario();
      s.start(fan);
      const events = s.run({ kind: 'CancelRun', actor: owner, now: s.now });
      expect(s.types(events)).toEqual(['NodeCancelled:a', 'NodeCancelled:b', 'RunCancelled']);
      expect(events[0]!.data).toMatchObject({ taskId: nodeTaskId(s.runId, 'a', 0, 0), ownerId: OWNER });
      refused(() => s.run({ kind: 'CancelRun', actor: owner, now: s.now }), 'CONFLICT', /cancelled/);
      // A late result of a cancelled node changes nothing.
      expect(
        decide(
          {
            kind: 'RecordTaskFinished',
            taskId: nodeTaskId(s.runId, 'a', 0, 0),
            outcome: 'succeeded',
            exitCode: 0,
            output: undefined,
            text: '',
            error: null,
            durationMs: 1,
            now: s.now,
          },
          s.state,
        ),
      ).toEqual([]);
    });

    it('retries a failed node and what depends on it, with new task ids, and nothing else', () => {
      const s = new RunScenario();
      s.start(fan);
      s.finish('a', 'failed');
      s.finish('b');
      s.finish('c');
      expect(s.state.status).toBe('failed');
      const events = s.run({ kind: 'RetryNode', actor: owner, nodeId: 'a', now: s.now });
      expect(s.types(events)).toEqual(['NodesRetried:a', 'NodeScheduled:a']);
      expect(events[0]!.data).toMatchObject({ reset: ['a', 'd'] });
      expect(s.taskOf('a')).toBe(nodeTaskId(s.runId, 'a', 0, 1));
      expect(s.node('b').status).toBe('succeeded');
      s.finish('a');
      s.finish('d');
      expect(s.state.status).toBe('succeeded');
      refused(() => s.run({ kind: 'RetryNode', actor: owner, nodeId: 'b', now: s.now }), 'CONFLICT', /only a failed or cancelled node/);
    });

    it('times the run out: running tasks cancelled, the run timed out', () => {
      const s = new RunScenario();
      s.start({ ...fan, settings: { maxParallel: 2, timeoutSeconds: 60 } });
      s.at(30);
      expect(s.run({ kind: 'Tick', now: s.now })).toEqual([]);
      s.at(61);
      expect(s.types(s.run({ kind: 'Tick', now: s.now }))).toEqual(['NodeCancelled:a', 'NodeCancelled:b', 'RunTimedOut']);
      expect(s.state.status).toBe('timed_out');
    });
  });

  describe('approval nodes', () => {
    const definition = {
      name: 'gated',
      kind: 'graph',
      nodes: [
        { id: 'build', type: 'task', task: shell('build') },
        { id: 'ok', type: 'approval', message: 'ship build {{nodes.build.exitCode}}?', timeoutSeconds: 600, onTimeout: 'reject' },
        { id: 'ship', type: 'task', task: shell('ship') },
        { id: 'notes', type: 'task', task: shell('notes') },
      ],
      edges: [
        { from: 'build', to: 'ok' },
        { from: 'ok', to: 'ship' },
        { from: 'build', to: 'notes' },
      ],
    };
    const owner = { userId: OWNER };

    it('waits for a person; an approval lets the branch go on', () => {
      const s = new RunScenario();
      s.start(definition);
      const events = s.finish('build');
      expect(events.find((e) => e.type === 'ApprovalRequested')!.data).toMatchObject({
        message: 'ship build 0?',
        deadline: new Date(s.now.getTime() + 600_000).toISOString(),
      });
      expect(s.node('ok').status).toBe('waiting');
      s.run({ kind: 'DecideApproval', actor: owner, nodeId: 'ok', decision: 'approve', comment: 'go', now: s.now });
      expect(s.node('ship').status).toBe('scheduled');
      refused(() => s.run({ kind: 'DecideApproval', actor: owner, nodeId: 'ok', decision: 'reject', now: s.now }), 'CONFLICT', /not waiting/);
    });

    it('a rejection ends its branch, and the run still succeeds', () => {
      const s = new RunScenario();
      s.start(definition);
      s.finish('build');
      s.run({ kind: 'DecideApproval', actor: owner, nodeId: 'ok', decision: 'reject', now: s.now });
      expect(s.node('ok').status).toBe('rejected');
      expect(s.node('ship').status).toBe('skipped');
      s.finish('notes');
      expect(s.state.status).toBe('succeeded');
    });

    it('applies the default when nobody decides in time', () => {
      const s = new RunScenario();
      s.start(definition);
      s.finish('build');
      s.at(599);
      expect(s.run({ kind: 'Tick', now: s.now })).toEqual([]);
      s.at(601);
      const events = s.run({ kind: 'Tick', now: s.now });
      expect(events[0]).toMatchObject({ type: 'ApprovalDecided', data: { decision: 'rejected', byUserId: null } });
      expect(s.node('ship').status).toBe('skipped');
    });
  });
});
