/*
 * An agent killed with -9 and restarted on its state dir (attempt-journal.ts): before, it came back
 * knowing nothing of the attempts it held, so — restarted within the platform's offline threshold —
 * their tasks stayed `running` until their timeout (the crash matrix, `npm run chaos`, found it).
 * Real nats-server, the compiled agent, the fake platform; the test plays the dispatcher.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { heldAttempts } from '../src/agent/attempt-journal';
import { AgentHarness, eventually, pidsWith, shellTask, uniqueSleep } from './agent-harness';

const harness = new AgentHarness({ ...process.env });

beforeAll(() => harness.setUp(), 120_000);
afterAll(() => harness.tearDown());

describe('Worker agent restarted after a kill -9', () => {
  it('hands back the attempt it was running and kills what was left of its process (without isolation a process ignoring SIGHUP outlives the agent)', async () => {
    const worker = await harness.startWorker(['--isolation', 'none', '--slots', '2']);
    const sleep = uniqueSleep(60);
    // Ignoring SIGHUP, the process outlives the PTY its agent held.
    const task = shellTask(`trap '' HUP; sleep ${sleep}`);
    await harness.order(worker.workerId, task);
    await harness.observer.started(task.taskId);
    await eventually('the task process', () => (pidsWith(sleep).length > 0 ? true : undefined));

    await worker.agent.kill();
    // Without isolation (and ignoring SIGHUP) the task's process survives its agent.
    await new Promise((r) => setTimeout(r, 500));
    expect(pidsWith(sleep).length).toBeGreaterThan(0);
    harness.start(['--state-dir', worker.stateDir, '--isolation', 'none', '--slots', '2']);

    const report = await harness.observer.finished(task.taskId, 1, 30_000);
    expect(report.outcome).toBe('handed_back');
    expect(report.result.error).toContain('restarted');
    await eventually('the leftover process gone', () => (pidsWith(sleep).length === 0 ? true : undefined));
    await eventually('the journal empty', () => (heldAttempts(worker.stateDir).length === 0 ? true : undefined));
  }, 90_000);

  it('reports, not runs again, an attempt whose process finished while the agent was still keeping its work (uploading its log)', async () => {
    harness.platform.holdArtifacts = true;
    try {
      const worker = await harness.startWorker(['--isolation', 'none', '--slots', '2']);
      const marker = uniqueSleep(1);
      const task = shellTask(`sleep ${marker}`);
      await harness.order(worker.workerId, task);
      // The process exited; the agent is uploading its log, which the platform never answers.
      await eventually('the log upload', () => (harness.platform.artifactUploads.some((u) => u.taskId === task.taskId) ? true : undefined));
      await worker.agent.kill();
      harness.platform.holdArtifacts = false;
      harness.start(['--state-dir', worker.stateDir, '--isolation', 'none', '--slots', '2']);
      const report = await harness.observer.finished(task.taskId, 1, 30_000);
      expect(report.outcome).toBe('succeeded');
      // The redelivered assignment is acked, not run: one start only.
      const later = shellTask('true');
      await harness.order(worker.workerId, task);
      await harness.order(worker.workerId, later);
      await harness.observer.finished(later.taskId, 1, 30_000);
      expect(harness.observer.reports.items.filter((i) => i.value.kind === 'started' && i.value.taskId === task.taskId)).toHaveLength(1);
    } finally {
      harness.platform.holdArtifacts = false;
    }
  }, 90_000);

  it('reports, not runs again, an attempt whose tool exited before the agent saw it, with its output, structured output and artifacts from disk', async () => {
    const worker = await harness.startWorker(['--isolation', 'none', '--slots', '2']);
    const marker = uniqueSleep(3);
    const task = shellTask(
      `echo before-the-kill; echo '{"answer": 42}' > "$AGENTYARD_OUTPUT"; echo kept > "$AGENTYARD_ARTIFACTS/result.txt"; sleep ${marker}; exit 0`,
    );
    await harness.order(worker.workerId, task);
    await harness.observer.started(task.taskId);
    const log = join(worker.stateDir, 'logs', `${task.taskId}-1.log`);
    await eventually('the output in the agent’s log', () => (existsSync(log) && readFileSync(log, 'utf8').includes('before-the-kill') ? true : undefined));
    // The agent is frozen, the tool exits meanwhile (its wrapper writes the status and waits for the
    // agent's answer): the kill lands between the tool's exit and the agent's record of it.
    worker.agent.signal('SIGSTOP');
    const status = join(worker.stateDir, 'work', `${task.taskId}-1`, '.agentyard', 'exit-status');
    await eventually('the exit status', () => (existsSync(status) ? true : undefined), 15_000);
    await worker.agent.kill();
    expect(harness.observer.reports.items.some((i) => i.value.kind === 'finished' && i.value.taskId === task.taskId)).toBe(false);

    harness.start(['--state-dir', worker.stateDir, '--isolation', 'none', '--slots', '2']);
    const report = await harness.observer.finished(task.taskId, 1, 30_000);
    expect(report.outcome).toBe('succeeded');
    expect(report.result.exitCode).toBe(0);
    expect(report.result.outputTail).toContain('before-the-kill');
    expect(report.result.output).toEqual({ answer: 42 });
    // Uploaded from disk (this fake platform answers 404: it keeps no artifacts).
    expect(
      harness.platform.artifactUploads
        .filter((u) => u.taskId === task.taskId)
        .map((u) => u.name)
        .sort(),
    ).toEqual(['log', 'result.txt']);
    // Its directory and log are gone, and the redelivered assignment is acked, not run.
    expect(existsSync(join(worker.stateDir, 'work', `${task.taskId}-1`))).toBe(false);
    expect(existsSync(log)).toBe(false);
    await harness.order(worker.workerId, task);
    const later = shellTask('true');
    await harness.order(worker.workerId, later);
    await harness.observer.finished(later.taskId, 1, 30_000);
    expect(harness.observer.reports.items.filter((i) => i.value.kind === 'started' && i.value.taskId === task.taskId)).toHaveLength(1);
  }, 90_000);

  it('sends again the result of an attempt whose process finished before the agent died, and does not run its redelivered assignment', async () => {
    const worker = await harness.startWorker(['--isolation', 'none', '--slots', '2']);
    await worker.agent.kill();
    // What the agent wrote between the process's end and the report being stored, when it was killed.
    const marker = uniqueSleep(1);
    const task = shellTask(`sleep ${marker}`);
    const report = {
      kind: 'finished',
      taskId: task.taskId,
      attempt: 1,
      workerId: worker.workerId,
      outcome: 'succeeded',
      result: { exitCode: 0, outputTail: 'done before the kill', durationMs: 5 },
    };
    mkdirSync(join(worker.stateDir, 'attempts'), { recursive: true });
    appendFileSync(join(worker.stateDir, 'attempts', 'journal.log'), `${JSON.stringify({ taskId: task.taskId, attempt: 1, report })}\n`);

    harness.start(['--state-dir', worker.stateDir, '--isolation', 'none', '--slots', '2']);
    const sent = await harness.observer.finished(task.taskId, 1, 30_000);
    expect(sent.outcome).toBe('succeeded');
    expect(sent.result.outputTail).toBe('done before the kill');

    // The assignment was never acked before the kill, so JetStream redelivers it: acked, not run.
    await harness.order(worker.workerId, task);
    const later = shellTask('true');
    await harness.order(worker.workerId, later);
    await harness.observer.finished(later.taskId, 1, 30_000);
    expect(harness.observer.reports.items.some((i) => i.value.kind === 'started' && i.value.taskId === task.taskId)).toBe(false);
    expect(pidsWith(marker)).toEqual([]);
  }, 90_000);
});
