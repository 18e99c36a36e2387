/*
 * Golden histories: one recorded run per workflow kind (golden/<kind>.json holds every command
 * and the events the decider answered). CI replays each command against the state folded from
 * the recorded events and expects the very same events. A code change that would alter what a
 * stored run decides — a different task id, another branch, an extra event — fails here, before
 * it can meet a real run's history. When a change is meant to alter decisions, version it (new
 * event schema or a graph flag stored in RunStarted) and record new histories with
 * `UPDATE_GOLDEN=1 npx jest services/workflows/src/domain/run.golden`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecidedEvent } from '@agentyard/event-sourcing';
import type { RunCommand } from './run.decide';
import { decide } from './run.decide';
import { OWNER, RunScenario } from './run.scenario';

const dir = join(__dirname, 'golden');
const shell = (command: string) => ({ tool: 'shell' as const, input: { command } });

/** The recorded scenarios: each exercises its kind end to end, including its branches. */
const scenarios: Record<string, () => RunScenario> = {
  sequential: () => {
    const s = new RunScenario('0193a000-0000-7000-8000-00000000a001');
    s.start(
      {
        name: 'plan, build, ship',
        kind: 'sequential',
        parameters: [{ name: 'repo', required: true }],
        steps: [
          { id: 'plan', task: shell('plan {{run.input.repo}}') },
          { id: 'build', task: shell('build {{nodes.plan.output.target | shell}}') },
          { task: shell('ship') },
        ],
      },
      { repo: 'git@example:app' },
    );
    s.at(1).started('plan');
    s.at(2).finish('plan', 'succeeded', { output: { target: 'prod' } });
    s.at(3).finish('build');
    s.at(4).finish('step3');
    return s;
  },
  concurrent: () => {
    const s = new RunScenario('0193a000-0000-7000-8000-00000000a002');
    s.start({
      name: 'three copies',
      kind: 'concurrent',
      count: 3,
      join: { k: 2 },
      task: shell('hostname'),
      then: shell('echo {{inputs.join.output | json | shell}}'),
    });
    s.at(1).finish('copy2', 'succeeded', { output: { host: 'b' } });
    s.at(2).finish('copy1', 'failed', { exitCode: 3 });
    s.at(3).finish('copy3', 'succeeded', { output: { host: 'c' } });
    s.at(4).finish('then');
    return s;
  },
  graph: () => {
    const s = new RunScenario('0193a000-0000-7000-8000-00000000a003');
    s.start({
      name: 'fix until green',
      kind: 'graph',
      nodes: [
        { id: 'code', type: 'task', task: shell('code') },
        { id: 'test', type: 'task', task: shell('test {{node.iteration}} -ge 2') },
        { id: 'fix', type: 'task', task: shell('fix') },
        { id: 'approve', type: 'approval', message: 'ship {{nodes.test.exitCode}}?', timeoutSeconds: 60, onTimeout: 'approve' },
        { id: 'ship', type: 'task', task: shell('ship') },
      ],
      edges: [
        { from: 'code', to: 'test' },
        { from: 'test', to: 'fix', condition: 'nodes.test.exitCode != 0' },
        { from: 'fix', to: 'test', loop: { maxIterations: 3 } },
        { from: 'test', to: 'approve', condition: 'nodes.test.exitCode == 0' },
        { from: 'approve', to: 'ship' },
      ],
    });
    s.at(1).finish('code');
    for (let i = 0; i < 2; i++) {
      s.at(2 + i * 2).finish('test', 'failed', { exitCode: 1 });
      s.at(3 + i * 2).finish('fix');
    }
    s.at(6).finish('test');
    s.at(70).run({ kind: 'Tick', now: s.now });
    s.at(71).finish('ship');
    return s;
  },
  hierarchical: () => {
    const s = new RunScenario('0193a000-0000-7000-8000-00000000a004');
    s.start({ name: 'director', kind: 'hierarchical', director: shell('plan'), plan: { step: shell('do {{step.command | shell}}'), review: shell('review') } });
    s.at(1).finish('director', 'succeeded', {
      output: {
        steps: [
          { id: 'a', description: 'one', command: '1' },
          { id: 'b', description: 'two', command: '2', dependsOn: ['a'] },
          { id: 'c', description: 'three', command: '3' },
        ],
      },
    });
    s.at(2).finish('director_c');
    s.at(3).finish('director_a', 'failed');
    s.at(4).run({ kind: 'RetryNode', actor: { userId: OWNER }, nodeId: 'director_a', now: s.now });
    s.at(5).finish('director_a');
    s.at(6).finish('director_b');
    s.at(7).finish('director_review');
    return s;
  },
  mixture: () => {
    const s = new RunScenario('0193a000-0000-7000-8000-00000000a005');
    s.start({
      name: 'three agents',
      kind: 'mixture',
      candidates: [
        { id: 'claude', task: shell('a') },
        { id: 'gemini', task: shell('b') },
        { id: 'shell', task: shell('c') },
      ],
      aggregator: { strategy: 'judge', judge: shell('judge {{inputs | json | shell}}') },
      then: shell('apply {{nodes.pick.winner}}'),
    });
    s.at(1).finish('gemini', 'succeeded', { output: { diff: 'bb' } });
    s.at(2).run({ kind: 'PauseRun', actor: { userId: OWNER }, now: s.now });
    s.at(3).finish('claude', 'succeeded', { output: { diff: 'a' } });
    s.at(4).finish('shell', 'failed');
    s.at(5).run({ kind: 'ResumeRun', actor: { userId: OWNER }, now: s.now });
    s.at(6).finish('judge', 'succeeded', { output: { winner: 'claude', reason: 'smallest diff' } });
    s.at(7).finish('then');
    return s;
  },
};

interface Recorded {
  final: { status: string; nodes: Record<string, string> };
  steps: { command: RunCommand; events: DecidedEvent[] }[];
}

function revive(command: RunCommand): RunCommand {
  return { ...command, now: new Date(command.now as unknown as string) } as RunCommand;
}

describe('golden run histories', () => {
  for (const [kind, scenario] of Object.entries(scenarios)) {
    const file = join(dir, `${kind}.json`);

    if (process.env.UPDATE_GOLDEN === '1') {
      it(`records ${kind}`, () => {
        const s = scenario();
        const recorded: Recorded = {
          final: { status: s.state.status, nodes: Object.fromEntries(Object.entries(s.state.nodes).map(([id, n]) => [id, n.status])) },
          steps: s.steps,
        };
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, `${JSON.stringify(recorded, null, 2)}\n`);
        expect(existsSync(file)).toBe(true);
      });
      continue;
    }

    it(`replays the ${kind} history to the same decisions`, () => {
      const recorded = JSON.parse(readFileSync(file, 'utf8')) as Recorded;
      const replay = new RunScenario();
      for (const [i, step] of recorded.steps.entries()) {
        const command = revive(step.command);
        replay.at((command.now.getTime() - Date.parse('2026-12-04T12:00:00.000Z')) / 1000);
        const events = decide(command, replay.state);
        // Same decisions, step by step (the message names the step that diverged).
        expect({ step: i, command: command.kind, events: JSON.parse(JSON.stringify(events)) }).toEqual({ step: i, command: command.kind, events: step.events });
        replay.fold(events);
      }
      expect(replay.state.status).toBe(recorded.final.status);
      expect(Object.fromEntries(Object.entries(replay.state.nodes).map(([id, n]) => [id, n.status]))).toEqual(recorded.final.nodes);
    });
  }

  it('records every kind of workflow', () => {
    expect(Object.keys(scenarios).sort()).toEqual(['concurrent', 'graph', 'hierarchical', 'mixture', 'sequential']);
  });
});
