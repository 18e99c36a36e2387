/*
 * The agent's core: takes work orders, runs at most `slots` attempts at once, reports, drains.
 *
 * Invariants (proven in test/worker-agent.int.spec.ts):
 * - An assignment is acked only after its `started` report is stored, or after its refusal
 *   (`finished`/handed_back, when full, draining or the tool is missing) is stored. A redelivery
 *   of an attempt already running or recently finished is acked and ignored, never run twice; so
 *   is an assignment stored long before the newest one received (a replay: order-replay.ts).
 * - Every accepted attempt ends with exactly one `finished` report: succeeded / failed (exit
 *   code), timed_out, cancelled, or handed_back when shutdown's grace period ran out.
 * - A cancel for an unknown task or attempt is acked and ignored (it may be for an attempt that
 *   already finished or was never delivered here).
 * - Attempt numbers come from the assignment, never from JetStream delivery counts.
 * - An attempt whose env references secrets holds its slot while their values are fetched (over
 *   HTTP, task-secrets.ts); a cancel or shutdown meanwhile ends it without starting the process.
 *   The values live only in the process environment and this attempt's output masker: what the
 *   task prints is masked before it is streamed or reported.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  effectiveBudget,
  type Budget,
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
  secretRefsOf,
  reservedArtifactNames,
  repoCredentialKind,
  type WorkspaceInput,
} from '@agentyard/contracts/agent';
import { OutputStream } from '../execution/output-stream';
import { addAgentOutcome } from './agent-outcome';
import { SecretMasker } from '../execution/secret-masker';
import { addStructuredOutput, outputEnvName, prepareStructuredOutput, readStructuredOutput } from '../execution/structured-output';
import { buildTaskEnv, withSecretValues } from '../execution/task-env';
import { TaskProcess, type StopReason, type TaskExit } from '../execution/task-process';
import { refusal as budgetRefusal, type PriceTable } from '../execution/budget.decide';
import { BudgetWatch } from '../execution/budget-watch';
import { StallWatch, stallPolicyOf } from '../execution/stall-watch';
import { makeCwdInRepo, WorkDirError } from '../execution/work-dir';
import { ownerOf, type PreparedAttempt, type TaskIsolation } from '../isolation/task-isolation';
import type { ArtifactSink, StoredArtifact } from '../storage/artifact-uploader';
import { artifactsEnvName, collectDeclaredArtifacts, prepareArtifactsDir } from '../storage/declared-artifacts';
import { TaskLog } from '../storage/task-log';
import type { Checkout, WorkspaceManager } from '../workspace/workspace-manager';
import { branchFor, WorkspaceError } from '../workspace/workspace-rules';
import type { RepoCredential } from '../workspace/repo-credentials';
import { describeError, type Logger } from '../logging/logger';
import type { SystemSampler } from '../system/system-sampler';
import { ToolInputError, type Tool, type ToolInput } from '../tools/tool';
import { attemptOfBranch, isResumableTool, type ResumableTool } from '../tools/session-paths';
import { keepSessions, seedSession, SessionNotFoundError } from '../tools/tool-sessions';
import { HeartbeatPublisher } from './heartbeat.publisher';
import { AgentOutput } from './live-agent-event';
import { NatsLink } from './nats-link';
import { OrderConsumer } from './order-consumer';
import { defaultStaleAfterMs, judgeOrder, OrdersSeenFile, type OrdersSeen } from './order-replay';
import { ReportOutbox } from './report-outbox';
import { AttemptJournal, killLeftover, type JournalEntry } from './attempt-journal';
import { exitStatusFile, finishedLeftover, leftoverPaths, leftoverWork, removeLeftover, type LeftoverPaths } from './leftover-attempt';
import { SecretsRefused, type TaskSecretSource } from './task-secrets';

type Outcome = Extract<WorkReport, { kind: 'finished' }>['outcome'];

export interface WorkerAgentConfig {
  workerId: string;
  slots: number;
  stateDir: string;
  heartbeatIntervalMs: number;
  tools: { list: WorkerTool[]; available: Map<ToolName, Tool> };
  /** The agent's environment; tasks get only an allow-listed part of it. */
  hostEnv: NodeJS.ProcessEnv;
  /** The watchdog's default for tasks without a policy (`--stall-seconds`, notify only); 0 or none = off. */
  stallSeconds?: number;
  /** Prices per model for tasks' cost caps on tools that report no cost (`--prices`); none = such caps are refused. */
  prices?: PriceTable;
  /** Where and as whom each attempt runs (its directories, sandbox, uid). */
  isolation: TaskIsolation;
  /** SIGTERM → SIGKILL grace when killing a task's tree. Default 2 s. */
  killGraceMs?: number;
  /** Where the values of a task's secret references come from (the platform, over HTTP). */
  secrets: TaskSecretSource;
  /** Makes, finishes and keeps (for the retention, within the disk budget) workspace tasks' worktrees. */
  workspaces: WorkspaceManager;
  /** Where attempts' logs and artifacts go (the platform, over HTTP); none: kept nowhere. */
  artifacts?: ArtifactSink;
  /** Recognising replayed assignments (order-replay.ts); the defaults unless a test shrinks them. */
  replay?: { staleAfterMs?: number; recentLimit?: number };
}

interface RunningAttempt {
  taskId: string;
  attempt: number;
  /** Undefined while the attempt's secrets are being fetched. */
  process: TaskProcess | undefined;
  /** A cancel or shutdown that came before the process started. */
  stoppedEarly?: StopReason;
  /** Aborts the secrets fetch. */
  abort?: AbortController;
}

/**
 * How many finished attempt keys are remembered to recognise redeliveries (~100 bytes each). With
 * 1,000, a busy agent forgot an attempt within a minute; an older replay is order-replay.ts's.
 */
const defaultRecentLimit = 20_000;
/** At most one line per this long about stale assignments ignored (a replay brings thousands). */
const staleLogEveryMs = 10_000;

export class WorkerAgent {
  private readonly running = new Map<string, RunningAttempt>();
  private readonly recent = new Set<string>();
  private readonly outbox: ReportOutbox;
  /** The attempts held, on disk: what a restart after a kill -9 must end (attempt-journal.ts). */
  private readonly journal: AttemptJournal;
  private readonly consumer: OrderConsumer;
  private readonly heartbeat: HeartbeatPublisher;
  private draining = false;
  private idleWaiters: (() => void)[] = [];
  /** The newest assignment received (order-replay.ts), kept in the state dir; stale ones ignored since the last line about them. */
  private readonly ordersFile: OrdersSeenFile;
  private readonly orders: { seen: OrdersSeen; staleIgnored: number; staleLoggedAt: number };

  constructor(
    private readonly nc: NatsConnection,
    js: JetStreamClient,
    private readonly config: WorkerAgentConfig,
    sampler: SystemSampler,
    private readonly logger: Logger,
  ) {
    const link = new NatsLink(nc);
    this.outbox = new ReportOutbox(js, workReportSubject(config.workerId), logger, { link });
    this.journal = new AttemptJournal(config.stateDir);
    this.ordersFile = new OrdersSeenFile(config.stateDir);
    this.orders = { seen: this.ordersFile.load(), staleIgnored: 0, staleLoggedAt: 0 };
    this.consumer = new OrderConsumer(link, js, logger, {
      stream: workStream.name,
      durable: workerConsumerName(config.workerId),
      batchSize: () => this.config.slots - this.running.size,
      handle: (msg) => this.handleOrder(msg),
    });
    this.heartbeat = new HeartbeatPublisher(nc, config.workerId, config.tools.list, sampler, () => this.heartbeatState(), logger);
  }

  start(): void {
    this.endLeftoverAttempts();
    this.heartbeat.start(this.config.heartbeatIntervalMs);
    this.consumer.start();
    // Worktrees kept before a restart get their retention and budget applied from the start.
    this.config.workspaces.startSweeping();
  }

  /**
   * Ends the attempts a previous run of this agent held when it died: with the report it had
   * written (the process finished), or one made from the exit status its wrapper wrote (the tool
   * exited before the agent saw it), else handed back after killing what is left of the process.
   * Their assignments are remembered, so a redelivery is acked rather than run again.
   */
  private endLeftoverAttempts(): void {
    for (const entry of this.journal.leftovers()) {
      const key = `${entry.taskId}:${entry.attempt}`;
      this.remember(key);
      if (entry.report?.kind === 'finished') {
        this.logger.warn(`${key}: finished before the agent restarted; sending its result again`);
        void this.sendFinished(entry.report);
        continue;
      }
      const killed = killLeftover(entry);
      const paths = leftoverPaths(this.config.stateDir, entry.taskId, entry.attempt);
      const done = finishedLeftover(paths, entry.tool === undefined ? undefined : this.config.tools.available.get(entry.tool as ToolName)?.streamParser?.());
      if (done) {
        this.logger.warn(`${key}: its process had exited (${done.result.exitCode}) when the agent died; keeping its work and sending its result`);
        void this.keepLeftover(entry, paths, done.outcome, done.result);
        continue;
      }
      this.logger.warn(`${key}: the agent restarted while it ran${killed ? ' (its processes killed)' : ''}; handing it back`);
      void this.sendFinished({
        kind: 'finished',
        taskId: entry.taskId,
        attempt: entry.attempt,
        workerId: this.config.workerId,
        outcome: 'handed_back',
        result: emptyResult('the worker agent restarted while this attempt ran'),
      });
    }
  }

  /** A leftover attempt whose tool had exited: its log and declared artifacts uploaded from disk, then its report. */
  private async keepLeftover(entry: JournalEntry, paths: LeftoverPaths, outcome: Outcome, result: TaskResult): Promise<void> {
    const task = { taskId: entry.taskId, attempt: entry.attempt };
    const stored: StoredArtifact[] = [];
    for (const upload of leftoverWork(paths)) {
      const done = await this.config.artifacts?.upload(task, upload.name, upload.bytes);
      if (done) stored.push(done);
    }
    if (stored.length > 0) result.artifacts = stored;
    removeLeftover(paths);
    await this.sendFinished({ kind: 'finished', ...task, workerId: this.config.workerId, outcome, result });
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
    await Promise.all(left.map((r) => this.stopRun(r, 'handed_back')));
    await this.whenIdle();
    await this.consumer.stop();
    this.heartbeat.stop();
    await this.config.workspaces.stopSweeping();
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
      void this.stopRun(run, 'cancelled');
      return;
    }
    if (this.running.has(key) || this.recent.has(key)) {
      this.logger.debug(`assignment ${key} delivered again; already handled`);
      msg.ack();
      return;
    }
    const stored = { storedMs: msg.info.timestampNanos / 1e6, seq: msg.info.streamSequence };
    const verdict = judgeOrder(stored, this.orders.seen, this.config.replay?.staleAfterMs ?? defaultStaleAfterMs);
    if (verdict.stale) return this.ignoreStale(key, msg, stored.storedMs);
    if (verdict.seen.highestSeq !== this.orders.seen.highestSeq) this.ordersFile.save(verdict.seen);
    this.orders.seen = verdict.seen;
    this.accept(order, key, msg);
  }

  /**
   * Acks a replayed assignment without starting it (order-replay.ts), and says so now and then.
   * Not remembered: a replay's thousands would push out the finished attempts the memory is for,
   * and the rule judges the order the same way if it comes again.
   */
  private ignoreStale(key: string, msg: JsMsg, storedMs: number): void {
    msg.ack();
    this.orders.staleIgnored += 1;
    const now = performance.now();
    if (this.orders.staleLoggedAt !== 0 && now - this.orders.staleLoggedAt < staleLogEveryMs) return;
    const ageSeconds = Math.round((this.orders.seen.newestMs - storedMs) / 1000);
    this.logger.warn(
      `ignored ${this.orders.staleIgnored} assignment(s) stored long before the newest one received (${key}: ${ageSeconds} s before it) — ` +
        'a replay of the WORK stream (nats-server restarted uncleanly?); their leases ran out, so the platform has requeued or finished them',
    );
    this.orders.staleIgnored = 0;
    this.orders.staleLoggedAt = now;
  }

  /** Refuses, fails or starts one assignment; the message is acked once the report is stored. */
  private accept(assignment: Assignment, key: string, msg: JsMsg): void {
    const settle = (report: WorkReport): void => this.settle(key, msg, report);
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
    const run: RunningAttempt = { taskId: assignment.taskId, attempt: assignment.attempt, process: undefined };
    this.running.set(key, run);
    this.journal.begin(assignment.taskId, assignment.attempt);
    if (secretRefsOf(input).length === 0) return this.launch(assignment, key, msg, tool, input, run, {});
    // The slot is held while the values are fetched; the process starts only with all of them.
    run.abort = new AbortController();
    void this.fetchSecrets(assignment, run.abort.signal).then((fetched) => {
      const stopped = run.stoppedEarly;
      if (stopped) {
        this.release(key);
        return settle(this.finished(assignment, stopped, emptyResult(stopMessage(stopped))));
      }
      if ('error' in fetched) {
        this.release(key);
        return settle(this.finished(assignment, fetched.outcome, emptyResult(fetched.error)));
      }
      this.launch(assignment, key, msg, tool, input, run, fetched.values);
    });
  }

  /** The attempt's secret values, or how the attempt ends without them. Never throws. */
  private async fetchSecrets(
    assignment: Assignment,
    signal: AbortSignal,
  ): Promise<{ values: Record<string, string> } | { outcome: 'failed' | 'handed_back'; error: string }> {
    const key = `${assignment.taskId}:${assignment.attempt}`;
    try {
      return { values: await this.config.secrets.fetch({ taskId: assignment.taskId, attempt: assignment.attempt }, signal) };
    } catch (error) {
      if (error instanceof SecretsRefused) {
        this.logger.warn(`${key}: the platform refused its secrets: ${error.message}`);
        return { outcome: 'failed', error: error.message };
      }
      // Unreachable platform: another attempt (here or elsewhere) may get them.
      this.logger.warn(`${key}: could not fetch its secrets (${describeError(error)}); handing it back`);
      return { outcome: 'handed_back', error: `could not fetch the task's secrets: ${describeError(error)}` };
    }
  }

  /**
   * Prepares the attempt's directories and, for a workspace task, its worktree, then starts its
   * process. A checkout can take longer than the platform waits for `started` (a large repository
   * over the network), so a workspace attempt reports `started` when its checkout begins.
   */
  private launch(assignment: Assignment, key: string, msg: JsMsg, tool: Tool, input: ToolInput, run: RunningAttempt, secrets: Record<string, string>): void {
    let prepared: PreparedAttempt;
    let resume: Resume | undefined;
    try {
      // A cap this worker could not enforce (a cost cap without a price) is refused, not run uncapped.
      const refused = budgetRefusal(budgetOf(input), { tool: tool.name, model: modelOf(input) }, this.config.prices ?? {});
      if (refused) throw new ToolInputError(refused);
      resume = resumeOf(tool.name, input);
      prepared = this.config.isolation.prepare(assignment.taskId, assignment.attempt, input.cwd, { workspace: input.workspace !== undefined });
    } catch (error) {
      this.release(key);
      return this.settle(key, msg, this.finished(assignment, 'failed', emptyResult(this.startError(key, error))));
    }
    const workspace = input.workspace;
    if (!workspace) return this.spawn(assignment, key, msg, tool, input, run, secrets, prepared, undefined);
    this.reportStarted(assignment, msg);
    const owner = ownerOf(prepared);
    void this.config.workspaces
      .checkout(
        { taskId: assignment.taskId, attempt: assignment.attempt, ownerId: assignment.ownerId },
        workspace,
        prepared.dir.repo!,
        owner,
        repoCredentialOf(workspace, secrets),
      )
      .then(
        (checkout) => {
          if (run.stoppedEarly) {
            void this.config.workspaces.release(checkout);
            return this.endUnstarted(assignment, key, prepared, run.stoppedEarly, stopMessage(run.stoppedEarly));
          }
          try {
            makeCwdInRepo(prepared.dir, owner);
          } catch (error) {
            void this.config.workspaces.release(checkout);
            return this.endUnstarted(assignment, key, prepared, 'failed', this.startError(key, error));
          }
          if (!resume) return this.spawn(assignment, key, msg, tool, input, run, secrets, prepared, checkout);
          // The session it resumes, from the attempt that made its branch, into its own tool home.
          void this.seedSession(resume, checkout, prepared).then(
            () => {
              if (!run.stoppedEarly) return this.spawn(assignment, key, msg, tool, input, run, secrets, prepared, checkout);
              void this.config.workspaces.release(checkout);
              this.endUnstarted(assignment, key, prepared, run.stoppedEarly, stopMessage(run.stoppedEarly));
            },
            (error: unknown) => {
              void this.config.workspaces.release(checkout);
              this.endUnstarted(assignment, key, prepared, 'failed', this.startError(key, error));
            },
          );
        },
        (error: unknown) => {
          const stopped = run.stoppedEarly;
          this.endUnstarted(assignment, key, prepared, stopped ?? 'failed', stopped ? stopMessage(stopped) : this.startError(key, error));
        },
      );
  }

  /** Starts the attempt's process in `run` (its slot is already held), streams its output masked, reports. */
  private spawn(
    assignment: Assignment,
    key: string,
    msg: JsMsg,
    tool: Tool,
    input: ToolInput,
    run: RunningAttempt,
    secrets: Record<string, string>,
    prepared: PreparedAttempt,
    checkout: Checkout | undefined,
  ): void {
    const output = new OutputStream(assignment.taskId, assignment.attempt, (chunk) => this.publishOutput(chunk.taskId, JSON.stringify(chunk)));
    const masker = new SecretMasker(Object.values(secrets));
    // An agent CLI's structured stream, read from the masked output (a secret never reaches a summary).
    // Each piece goes live with the events parsed from the lines it ended: the live transcript.
    const agentOutput = new AgentOutput(output, tool.streamParser?.());
    // The task's caps (input.budget), checked on every usage the stream gives: at one, the tool is stopped.
    const budget = budgetOf(input);
    const budgetWatch = budget ? new BudgetWatch(budget, this.config.prices ?? {}, modelOf(input)) : undefined;
    let log: TaskLog | undefined;
    let outputFile: string;
    let artifactsDir: string;
    let proc: TaskProcess;
    try {
      const { dir, launch } = prepared;
      log = TaskLog.open(this.config.stateDir, assignment.taskId, assignment.attempt);
      const taskLog = log;
      // After the isolation made the attempt's directory its task's: the output file is the task's too.
      outputFile = prepareStructuredOutput(dir.root);
      artifactsDir = prepareArtifactsDir(dir.root, ownerOf(prepared));
      const command = tool.buildCommand(input, {
        workDir: dir.root,
        cwd: dir.cwd,
        hostEnv: this.config.hostEnv,
        sandboxed: this.config.isolation.level === 'bubblewrap',
      });
      proc = new TaskProcess({
        file: command.file,
        args: command.args,
        // The isolation's HOME/TMPDIR/USER replace the agent's; the tool's and the task's own come after.
        // AGENTYARD_OUTPUT and AGENTYARD_ARTIFACTS are set last: the places the agent reads are the ones the task is told about.
        env: {
          ...buildTaskEnv(this.config.hostEnv, { ...prepared.env, ...command.env }, withSecretValues(input.env, secrets)),
          [outputEnvName]: outputFile,
          [artifactsEnvName]: artifactsDir,
        },
        cwd: dir.cwd,
        launch,
        // Not a workspace attempt's: its result is the commit keeping its work pushes (leftover-attempt.ts).
        statusFile: checkout ? undefined : exitStatusFile(dir.root),
        timeoutSeconds: assignment.timeoutSeconds,
        killGraceMs: this.config.killGraceMs,
        onData: (data) => {
          watch?.noteOutput();
          const masked = masker.push(data);
          taskLog.write(masked);
          const events = agentOutput.write(masked);
          const over = budgetWatch?.observe(events);
          if (over) {
            this.logger.info(`${key}: ${over}; stopping the tool`);
            void proc.stop('budget_exceeded');
          }
        },
      });
    } catch (error) {
      log?.discard();
      if (checkout) void this.config.workspaces.release(checkout);
      if (checkout) return this.endUnstarted(assignment, key, prepared, 'failed', this.startError(key, error));
      this.config.isolation.release(prepared);
      this.release(key);
      return this.settle(key, msg, this.finished(assignment, 'failed', emptyResult(this.startError(key, error))));
    }

    run.process = proc;
    this.journal.started(assignment.taskId, assignment.attempt, proc.pid, assignment.tool);
    const watch = this.watchStalls(assignment, input, proc, prepared.dir.root);
    this.logger.info(`started ${key} (${assignment.tool}, pid ${proc.pid}) — ${this.running.size}/${this.config.slots} slots used`);
    if (!checkout) this.reportStarted(assignment, msg);
    const taskLog = log;
    void proc.finished
      .then(
        async (exit) => {
          const rest = masker.flush();
          taskLog.write(rest);
          // Written first: `budgetWatch?.observe(…)` would skip the write (and the parser's end) without a budget.
          const lastEvents = agentOutput.write(rest, true);
          budgetWatch?.observe(lastEvents);
          output.flush();
          let outcome = outcomeOf(exit);
          // The watchdog stopped it (policy `fail`): a failure, whatever the kill looked like.
          if (watch?.failure) outcome = 'failed';
          const result: TaskResult = { exitCode: exit.exitCode, outputTail: output.tail(), durationMs: exit.durationMs };
          const agent = addAgentOutcome(result, agentOutput.events);
          if (agent.usageRefused) this.logger.warn(`${key}: the tool's usage is not recorded (${agent.usageRefused})`);
          // Over a cap: the agent stopped it, the tool's own cap did (claude-code's --max-budget-usd), or
          // the final usage passed a cap before the stop could land. Its usage so far is kept above.
          if (!watch?.failure && (budgetWatch?.exceeded || agent.limit === 'budget_exceeded')) outcome = 'budget_exceeded';
          // The tool's own message when it stopped at its cap (claude-code's --max-budget-usd), else the agent's.
          const error =
            watch?.failure ??
            (agent.limit === 'budget_exceeded' ? agent.limitMessage : undefined) ??
            budgetWatch?.exceeded ??
            errorOf(exit, assignment.timeoutSeconds) ??
            agent.limitMessage;
          if (error) result.error = error;
          // Only a process that ran to its end has its say; one cancelled or killed may have written half a file.
          if (!exit.stoppedBy && !addStructuredOutput(result, readStructuredOutput(outputFile))) outcome = 'failed';
          // Journaled before the work is kept (its log and artifacts uploaded: round trips): an agent
          // killed meanwhile sends this result at its restart instead of handing the attempt back to
          // run again. Not a workspace attempt's: its result is the commit the keeping pushes.
          if (!checkout) this.journal.finished(this.finished(assignment, outcome, { ...result }));
          await this.keepWork(assignment, result, {
            log: taskLog,
            checkout,
            artifactsDir: exit.stoppedBy ? undefined : artifactsDir,
            push: outcome === 'succeeded',
            credential: input.workspace ? repoCredentialOf(input.workspace, secrets) : undefined,
          });
          this.logger.info(`finished ${key}: ${outcome} (exit ${exit.exitCode ?? `signal ${exit.signal}`}, ${exit.durationMs} ms)`);
          return this.finished(assignment, outcome, result);
        },
        (error: unknown) => {
          // Should not happen (the exit path only waits and kills); still, every attempt gets a result.
          this.logger.error(`lost track of ${key}: ${describeError(error)}`);
          taskLog.discard();
          return this.finished(assignment, 'failed', {
            ...emptyResult(`the agent lost track of the process: ${describeError(error)}`),
            outputTail: output.tail(),
          });
        },
      )
      .then(async (report) => {
        void this.sendFinished(report);
        // Kept for the retention (and swept), out of the attempt's directory that goes next, with the
        // agent CLI's sessions, which a follow-up on its branch may resume.
        if (checkout)
          await this.config.workspaces.keep(checkout, { taskId: assignment.taskId, attempt: assignment.attempt }, this.sessionKeeper(key, tool, prepared));
        this.config.isolation.release(prepared);
        this.remember(key);
        this.release(key);
      });
  }

  /** For an agent CLI that can resume: stores the attempt's sessions in its kept worktree's directory. */
  private sessionKeeper(key: string, tool: Tool, prepared: PreparedAttempt): ((place: string) => Promise<void>) | undefined {
    const name = tool.name;
    if (!isResumableTool(name)) return undefined;
    return async (place) => {
      const ids = await keepSessions({ tool: name, attemptRoot: prepared.dir.root, cwd: prepared.dir.cwd }, place);
      if (ids.length > 0) this.logger.debug(`${key}: kept ${name} session ${ids.join(', ')} with its worktree`);
    };
  }

  /**
   * Gives a follow-up the session it resumes, kept with the worktree of the attempt that made its
   * branch, under the retention's lock (a sweep cannot remove it meanwhile). Only the same owner's
   * attempt on the same repository counts (its mirror is the follow-up's). Throws ToolInputError
   * saying what is missing.
   */
  private seedSession(resume: Resume, checkout: Checkout, prepared: PreparedAttempt): Promise<void> {
    const branch = branchFor(resume.from.taskId, resume.from.attempt);
    const cannot = `cannot resume ${resume.tool} session ${resume.sessionId} from ${branch}`;
    return this.config.workspaces.retention.withKept(resume.from, async (place, record) => {
      if (!record || record.mirror !== checkout.mirror) {
        throw new ToolInputError(
          `${cannot}: nothing of that attempt is kept on this worker (a finished attempt's worktree and sessions are removed after --worktree-retention or over --worktree-disk-budget)`,
        );
      }
      try {
        await seedSession(resume.tool, place, resume.sessionId, { attemptRoot: prepared.dir.root, cwd: prepared.dir.cwd, owner: ownerOf(prepared) });
      } catch (error) {
        if (error instanceof SessionNotFoundError) throw new ToolInputError(`${cannot}: ${error.message}`);
        throw error;
      }
    });
  }

  /**
   * The attempt's watchdog (stall-watch.ts), when the task or the worker sets a policy: on a
   * stall it reports `stalled` (the platform records TaskStalled and, for `restart`, requeues the
   * task and cancels this attempt); for `fail` it also stops the process, which then fails.
   */
  private watchStalls(assignment: Assignment, input: ToolInput, proc: TaskProcess, dir: string): StallWatch | undefined {
    const policy = stallPolicyOf(input, this.config.stallSeconds ?? 0, this.config.hostEnv);
    if (!policy) return undefined;
    const { taskId, attempt } = assignment;
    const watch = new StallWatch({
      policy,
      tree: proc.tree,
      dir,
      onStall: (silentSeconds) => {
        this.logger.warn(`${taskId}:${attempt} stalled: no output, CPU or file change for ${silentSeconds} s (${policy.action})`);
        const at = new Date().toISOString();
        void this.outbox.send({ kind: 'stalled', taskId, attempt, workerId: this.config.workerId, silentSeconds, at });
        if (policy.action === 'fail') void proc.stop('cancelled');
      },
    });
    void proc.finished.then(
      () => watch.stop(),
      () => watch.stop(),
    );
    return watch;
  }

  /**
   * What the attempt leaves besides its result, stored before the result is reported (the platform
   * takes uploads only from the attempt's holder): the workspace's commit and diff, the full log,
   * the files the task declared. Their names, sizes and hashes go into the result. Never throws.
   */
  private async keepWork(
    assignment: Assignment,
    result: TaskResult,
    work: { log: TaskLog; checkout: Checkout | undefined; artifactsDir: string | undefined; push: boolean; credential: RepoCredential | undefined },
  ): Promise<void> {
    const task = { taskId: assignment.taskId, attempt: assignment.attempt };
    const uploads: { name: string; bytes: Buffer }[] = [];
    try {
      if (work.checkout) {
        const done = await this.config.workspaces.finish(work.checkout, task, work.push, work.credential);
        result.workspace = done.result;
        if (done.result.commit !== null)
          uploads.push({ name: reservedArtifactNames.diffPatch, bytes: done.patch }, { name: reservedArtifactNames.diffStat, bytes: Buffer.from(done.stat) });
      }
      uploads.push({ name: reservedArtifactNames.log, bytes: work.log.finish() });
      if (work.artifactsDir) {
        const declared = collectDeclaredArtifacts(work.artifactsDir);
        uploads.push(...declared.files);
        if (declared.skipped.length > 0) this.logger.warn(`${task.taskId}:${task.attempt}: artifacts skipped — ${declared.skipped.join('; ')}`);
      }
    } catch (error) {
      this.logger.error(`${task.taskId}:${task.attempt}: could not gather its work: ${describeError(error)}`);
      work.log.discard();
    }
    const sink = this.config.artifacts;
    if (!sink) return;
    const stored: StoredArtifact[] = [];
    for (const upload of uploads) {
      const done = await sink.upload(task, upload.name, upload.bytes);
      if (done) stored.push(done);
    }
    if (stored.length > 0) result.artifacts = stored;
  }

  /** The `started` report; the order is acked once it is stored. */
  private reportStarted(assignment: Assignment, msg: JsMsg): void {
    const started: WorkReport = {
      kind: 'started',
      taskId: assignment.taskId,
      attempt: assignment.attempt,
      workerId: this.config.workerId,
      at: new Date().toISOString(),
    };
    void this.outbox.send(started).then((stored) => stored && msg.ack());
  }

  /** Ends an attempt that reported `started` but whose process never ran (its checkout failed, or it was stopped meanwhile). */
  private endUnstarted(assignment: Assignment, key: string, prepared: PreparedAttempt, outcome: Outcome, error: string): void {
    this.config.isolation.release(prepared);
    this.remember(key);
    this.release(key);
    void this.sendFinished(this.finished(assignment, outcome, emptyResult(error)));
  }

  /** The message of an attempt that could not start; an unexpected cause is logged. */
  private startError(key: string, error: unknown): string {
    const expected = error instanceof ToolInputError || error instanceof WorkDirError || error instanceof WorkspaceError;
    if (!expected) this.logger.error(`could not start ${key}: ${describeError(error)}`);
    return expected ? describeError(error) : `could not start the tool: ${describeError(error)}`;
  }

  /** Ends an attempt: kills its process, or stops it from starting while its secrets are fetched. */
  private stopRun(run: RunningAttempt, reason: StopReason): Promise<void> {
    if (run.process) return run.process.stop(reason);
    run.stoppedEarly ??= reason;
    run.abort?.abort();
    return Promise.resolve();
  }

  /** Remembers the attempt and stores its report; the order is acked once the report is stored. */
  private settle(key: string, msg: JsMsg, report: WorkReport): void {
    this.remember(key);
    void this.sendFinished(report).then((stored) => stored && msg.ack());
  }

  /** A `finished` report: kept in the journal until it is stored, so a kill -9 meanwhile does not lose it. */
  private sendFinished(report: WorkReport): Promise<boolean> {
    this.journal.finished(report);
    return this.outbox.send(report).then((stored) => {
      if (stored) this.journal.end(report.taskId, report.attempt);
      return stored;
    });
  }

  /** Frees the attempt's slot. */
  private release(key: string): void {
    this.running.delete(key);
    if (this.running.size === 0) this.idleWaiters.splice(0).forEach((wake) => wake());
  }

  /** `noop`: started and succeeded, no process; acked once `started` is stored, like any task. */
  private runNoop(assignment: Assignment, key: string, msg: JsMsg): void {
    this.remember(key);
    this.journal.begin(assignment.taskId, assignment.attempt);
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
      void this.sendFinished(this.finished(assignment, 'succeeded', { exitCode: 0, outputTail: '', durationMs: 0 }));
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
    if (this.recent.size > (this.config.replay?.recentLimit ?? defaultRecentLimit)) {
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}

/**
 * The workspace's repository credential with its value (fetched with the attempt's secrets), for
 * the agent's own fetch and push only: it never joins the task's env (withSecretValues maps env
 * references alone). Missing value: the checkout goes on without it and fails with git's reason.
 */
function repoCredentialOf(workspace: WorkspaceInput, secrets: Record<string, string>): RepoCredential | undefined {
  const ref = workspace.credentials;
  const value = ref ? secrets[ref.secret] : undefined;
  const kind = ref ? repoCredentialKind(workspace.repo, ref.kind) : undefined;
  if (!ref || value === undefined || kind === undefined) return undefined;
  return { kind, value, ...(ref.username ? { username: ref.username } : {}) };
}

function emptyResult(error: string): TaskResult {
  return { exitCode: null, outputTail: '', durationMs: 0, error: error.slice(0, 4096) };
}

function stopMessage(reason: StopReason): string {
  if (reason === 'budget_exceeded') return 'budget_exceeded: the task passed one of its caps';
  return reason === 'cancelled' ? 'cancelled' : reason === 'timed_out' ? 'timed out' : 'the worker shut down before the task started; handed back';
}

/** The task's caps, claude-code's top-level maxCostUsd folded in; undefined for a tool input without any. */
function budgetOf(input: ToolInput): Budget | undefined {
  return effectiveBudget(input as { budget?: Budget; maxCostUsd?: number });
}

/** A follow-up's resume: the tool's session and the attempt whose kept state has it. */
interface Resume {
  tool: ResumableTool;
  sessionId: string;
  from: { taskId: string; attempt: number };
}

/**
 * The session a task resumes, if any. Its tool kept it with the attempt that made a branch, so
 * the task must continue that branch (`workspace.ref` = `agentyard/<task>-<attempt>`); any other
 * resume is refused with that reason (the tool would only say the session is unknown).
 */
function resumeOf(tool: ToolName, input: ToolInput): Resume | undefined {
  const sessionId = (input as { resumeSession?: unknown }).resumeSession;
  if (!isResumableTool(tool) || typeof sessionId !== 'string' || sessionId === '') return undefined;
  const from = attemptOfBranch(input.workspace?.ref);
  if (!from) {
    throw new ToolInputError(
      `resumeSession ${sessionId}: ${tool} keeps a session with the attempt that made it; continue that attempt's branch (workspace.ref agentyard/<task>-<attempt>) to resume it`,
    );
  }
  return { tool, sessionId, from };
}

function modelOf(input: ToolInput): string | undefined {
  const model = (input as { model?: unknown }).model;
  return typeof model === 'string' && model !== '' ? model : undefined;
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
    case 'budget_exceeded':
      return 'budget_exceeded: the task passed one of its caps';
    case undefined:
      return exit.signal !== null ? `terminated by signal ${exit.signal}` : undefined;
    default: {
      const unreachable: never = exit.stoppedBy;
      return unreachable;
    }
  }
}
