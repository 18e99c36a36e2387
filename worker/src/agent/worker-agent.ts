/*
 * The agent's core: takes work orders, runs at most `slots` attempts at once, reports, drains.
 *
 * Invariants (proven in test/worker-agent.int.spec.ts):
 * - An assignment is acked only after its `started` report is stored, or after its refusal
 *   (`finished`/handed_back, when full, draining or the tool is missing) is stored. A redelivery
 *   of an attempt already running or recently finished is acked and ignored, never run twice.
 * - Every accepted attempt ends with exactly one `finished` report: succeeded / failed (exit
 *   code), timed_out, cancelled, or handed_back when shutdown's grace period ran out.
 * - A cancel for an unknown task or attempt is acked and ignored (it may be for an attempt that
 *   already finished or was never delivered here).
 * - Attempt numbers come from the assignment, never from JetStream delivery counts.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  workerConsumerName,
  workOrderSchema,
  workReportSubject,
  workStream,
  workSubjects,
  type Assignment,
  type TaskResult,
  type ToolName,
  type WorkerTool,
  type WorkOrder,
  type WorkReport,
} from '@agentyard/contracts/agent';
import { OutputStream } from '../execution/output-stream';
import { buildTaskEnv } from '../execution/task-env';
import { TaskProcess, type TaskExit } from '../execution/task-process';
import { WorkDirError } from '../execution/work-dir';
import type { PreparedAttempt, TaskIsolation } from '../isolation/task-isolation';
import { describeError, type Logger } from '../logging/logger';
import type { SystemSampler } from '../system/system-sampler';
import { ToolInputError, type Tool } from '../tools/tool';
import { HeartbeatPublisher } from './heartbeat.publisher';
import { OrderConsumer } from './order-consumer';
import { ReportOutbox } from './report-outbox';

type Outcome = Extract<WorkReport, { kind: 'finished' }>['outcome'];

export interface WorkerAgentConfig {
  workerId: string;
  slots: number;
  stateDir: string;
  heartbeatIntervalMs: number;
  tools: { list: WorkerTool[]; available: Map<ToolName, Tool> };
  /** The agent's environment; tasks get only an allow-listed part of it. */
  hostEnv: NodeJS.ProcessEnv;
  /** Where and as whom each attempt runs (its directories, sandbox, uid). */
  isolation: TaskIsolation;
  /** SIGTERM → SIGKILL grace when killing a task's tree. Default 2 s. */
  killGraceMs?: number;
}

interface RunningAttempt {
  taskId: string;
  attempt: number;
  process: TaskProcess;
}

/** How many finished attempt keys are remembered to recognise redeliveries. */
const recentLimit = 1_000;

export class WorkerAgent {
  private readonly running = new Map<string, RunningAttempt>();
  private readonly recent = new Set<string>();
  private readonly outbox: ReportOutbox;
  private readonly consumer: OrderConsumer;
  private readonly heartbeat: HeartbeatPublisher;
  private draining = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly nc: NatsConnection,
    js: JetStreamClient,
    private readonly config: WorkerAgentConfig,
    sampler: SystemSampler,
    private readonly logger: Logger,
  ) {
    this.outbox = new ReportOutbox(js, workReportSubject(config.workerId), logger);
    this.consumer = new OrderConsumer(js, logger, {
      stream: workStream.name,
      durable: workerConsumerName(config.workerId),
      batchSize: () => this.config.slots - this.running.size,
      handle: (msg) => this.handleOrder(msg),
    });
    this.heartbeat = new HeartbeatPublisher(nc, config.workerId, config.tools.list, sampler, () => this.heartbeatState(), logger);
  }

  start(): void {
    this.heartbeat.start(this.config.heartbeatIntervalMs);
    this.consumer.start();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Graceful shutdown: announce draining, refuse new assignments (cancels still work), let running
   * attempts finish until `graceMs` or `cutShort` resolves, then kill and hand back the rest, store
   * every report (bounded wait), stop. The NATS connection is the caller's to drain.
   */
  async shutdown(graceMs: number, cutShort: Promise<void> = new Promise(() => undefined)): Promise<void> {
    this.draining = true;
    await this.heartbeat.beatNow();
    if (this.running.size > 0) {
      this.logger.info(`draining: waiting up to ${Math.round(graceMs / 1000)} s for ${this.running.size} running task(s)`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.whenIdle(), new Promise((r) => (timer = setTimeout(r, graceMs))), cutShort]);
      clearTimeout(timer);
    }
    const left = [...this.running.values()];
    if (left.length > 0) this.logger.warn(`grace period over: handing back ${left.map((r) => `${r.taskId}:${r.attempt}`).join(', ')}`);
    await Promise.all(left.map((r) => r.process.stop('handed_back')));
    await this.whenIdle();
    await this.consumer.stop();
    this.heartbeat.stop();
    if (!(await this.outbox.flush(10_000))) this.logger.warn(`${this.outbox.size} report(s) could not be stored before exit`);
    this.outbox.close();
  }

  private heartbeatState() {
    return {
      slots: { total: this.config.slots, used: this.running.size },
      running: [...this.running.values()].map((r) => ({ taskId: r.taskId, attempt: r.attempt })),
      draining: this.draining,
      isolation: this.config.isolation.level,
    };
  }

  private whenIdle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async handleOrder(msg: JsMsg): Promise<void> {
    let order: WorkOrder;
    try {
      order = workOrderSchema.parse(JSON.parse(msg.string()));
    } catch (error) {
      // No redelivery can fix a malformed order: terminate it (the platform's lease expiry recovers).
      this.logger.error(`terminating malformed work order (stream seq ${msg.info.streamSequence}): ${describeError(error)}`);
      msg.term();
      return;
    }
    const key = `${order.taskId}:${order.attempt}`;
    if (order.kind === 'cancel') {
      const run = this.running.get(key);
      msg.ack();
      if (!run) return this.logger.debug(`ignoring cancel for ${key}: not running here`);
      this.logger.info(`cancelling ${key}`);
      void run.process.stop('cancelled');
      return;
    }
    if (this.running.has(key) || this.recent.has(key)) {
      this.logger.debug(`assignment ${key} delivered again; already handled`);
      msg.ack();
      return;
    }
    this.accept(order, key, msg);
  }

  /** Refuses, fails or starts one assignment; the message is acked once the report is stored. */
  private accept(assignment: Assignment, key: string, msg: JsMsg): void {
    const settle = (report: WorkReport): void => {
      this.remember(key);
      void this.outbox.send(report).then((stored) => stored && msg.ack());
    };
    if (this.draining) return settle(this.finished(assignment, 'handed_back', emptyResult('worker is draining')));
    if (this.running.size >= this.config.slots) return settle(this.finished(assignment, 'handed_back', emptyResult('worker has no free slot')));
    const tool = this.config.tools.available.get(assignment.tool);
    if (!tool) return settle(this.finished(assignment, 'handed_back', emptyResult(`tool ${assignment.tool} is not available on this worker`)));

    const parsed = tool.inputSchema.safeParse(assignment.input);
    if (!parsed.success) {
      return settle(
        this.finished(
          assignment,
          'failed',
          emptyResult(`invalid ${assignment.tool} input: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`),
        ),
      );
    }
    const input = parsed.data;
    if (assignment.tool === 'noop') return this.runNoop(assignment, key, msg);
    const output = new OutputStream(assignment.taskId, assignment.attempt, (chunk) => this.publishOutput(chunk.taskId, JSON.stringify(chunk)));
    let prepared: PreparedAttempt | undefined;
    let proc: TaskProcess;
    try {
      prepared = this.config.isolation.prepare(assignment.taskId, assignment.attempt, input.cwd);
      const { dir, launch } = prepared;
      const command = tool.buildCommand(input, { workDir: dir.root, cwd: dir.cwd, hostEnv: this.config.hostEnv });
      proc = new TaskProcess({
        file: command.file,
        args: command.args,
        // The isolation's HOME/TMPDIR/USER replace the agent's; the tool's and the task's own come after.
        env: buildTaskEnv(this.config.hostEnv, { ...prepared.env, ...command.env }, input.env),
        cwd: dir.cwd,
        launch,
        timeoutSeconds: assignment.timeoutSeconds,
        killGraceMs: this.config.killGraceMs,
        onData: (data) => output.write(data),
      });
    } catch (error) {
      if (prepared) this.config.isolation.release(prepared);
      const expected = error instanceof ToolInputError || error instanceof WorkDirError;
      if (!expected) this.logger.error(`could not start ${key}: ${describeError(error)}`);
      return settle(this.finished(assignment, 'failed', emptyResult(expected ? describeError(error) : `could not start the tool: ${describeError(error)}`)));
    }

    const run: RunningAttempt = { taskId: assignment.taskId, attempt: assignment.attempt, process: proc };
    this.running.set(key, run);
    this.logger.info(`started ${key} (${assignment.tool}, pid ${proc.pid}) — ${this.running.size}/${this.config.slots} slots used`);
    const started: WorkReport = {
      kind: 'started',
      taskId: assignment.taskId,
      attempt: assignment.attempt,
      workerId: this.config.workerId,
      at: new Date().toISOString(),
    };
    void this.outbox.send(started).then((stored) => stored && msg.ack());
    const attemptDirs = prepared;
    void proc.finished
      .then(
        (exit) => {
          output.flush();
          const outcome = outcomeOf(exit);
          const result: TaskResult = { exitCode: exit.exitCode, outputTail: output.tail(), durationMs: exit.durationMs };
          const error = errorOf(exit, assignment.timeoutSeconds);
          if (error) result.error = error;
          this.logger.info(`finished ${key}: ${outcome} (exit ${exit.exitCode ?? `signal ${exit.signal}`}, ${exit.durationMs} ms)`);
          return this.finished(assignment, outcome, result);
        },
        (error: unknown) => {
          // Should not happen (the exit path only waits and kills); still, every attempt gets a result.
          this.logger.error(`lost track of ${key}: ${describeError(error)}`);
          return this.finished(assignment, 'failed', {
            ...emptyResult(`the agent lost track of the process: ${describeError(error)}`),
            outputTail: output.tail(),
          });
        },
      )
      .then((report) => {
        void this.outbox.send(report);
        this.config.isolation.release(attemptDirs);
        this.remember(key);
        this.running.delete(key);
        if (this.running.size === 0) this.idleWaiters.splice(0).forEach((wake) => wake());
      });
  }

  /** `noop`: started and succeeded, no process; acked once `started` is stored, like any task. */
  private runNoop(assignment: Assignment, key: string, msg: JsMsg): void {
    this.remember(key);
    const started: WorkReport = {
      kind: 'started',
      taskId: assignment.taskId,
      attempt: assignment.attempt,
      workerId: this.config.workerId,
      at: new Date().toISOString(),
    };
    void this.outbox.send(started).then((stored) => {
      if (!stored) return;
      msg.ack();
      void this.outbox.send(this.finished(assignment, 'succeeded', { exitCode: 0, outputTail: '', durationMs: 0 }));
    });
  }

  private finished(assignment: Assignment, outcome: Outcome, result: TaskResult): WorkReport {
    return { kind: 'finished', taskId: assignment.taskId, attempt: assignment.attempt, workerId: this.config.workerId, outcome, result };
  }

  private publishOutput(taskId: string, payload: string): void {
    try {
      this.nc.publish(workSubjects.output(this.config.workerId, taskId), payload);
    } catch (error) {
      // Live output is best effort (core NATS, not stored); the tail still reaches the result.
      this.logger.debug(`output for ${taskId} dropped: ${describeError(error)}`);
    }
  }

  private remember(key: string): void {
    this.recent.add(key);
    if (this.recent.size > recentLimit) {
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}

function emptyResult(error: string): TaskResult {
  return { exitCode: null, outputTail: '', durationMs: 0, error: error.slice(0, 4096) };
}

function outcomeOf(exit: TaskExit): Outcome {
  if (exit.stoppedBy) return exit.stoppedBy;
  return exit.exitCode === 0 ? 'succeeded' : 'failed';
}

function errorOf(exit: TaskExit, timeoutSeconds: number): string | undefined {
  switch (exit.stoppedBy) {
    case 'timed_out':
      return `killed after the ${timeoutSeconds} s timeout`;
    case 'cancelled':
      return 'cancelled';
    case 'handed_back':
      return 'the worker shut down before the task finished; handed back';
    case undefined:
      return exit.signal !== null ? `terminated by signal ${exit.signal}` : undefined;
    default: {
      const unreachable: never = exit.stoppedBy;
      return unreachable;
    }
  }
}
