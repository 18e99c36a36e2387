/*
 * The scaffolding of an agent suite: a real nats-server with the WORK stream, the fake platform,
 * an observer of what agents publish, and helpers that start agents, hand them orders and find
 * their processes from the host. The test plays the platform's dispatcher.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { workSubjects, type Assignment, type WorkOrder } from '@agentyard/contracts';
import { testNats, type NatsServer } from '@agentyard/local-infra';
import { processAlive } from '../src/system/process-group';
import { repoRoot, runAgent, type AgentProcess } from './agent-process';
import { ensureWorkStream, newRegistrationToken, startFakePlatform, type FakePlatform } from './fake-platform';
import { WorkObserver } from './work-observer';

export interface StartedWorker {
  agent: AgentProcess;
  workerId: string;
  stateDir: string;
  token: string;
}

export class AgentHarness {
  nats!: NatsServer;
  nc!: NatsConnection;
  js!: JetStreamClient;
  jsm!: JetStreamManager;
  platform!: FakePlatform;
  observer!: WorkObserver;
  private readonly agents: AgentProcess[] = [];
  private readonly dirs: string[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** Builds the agent (the suite runs the compiled CLI, as a machine would), starts NATS and the fake platform. */
  async setUp(): Promise<void> {
    execFileSync(process.execPath, [join(repoRoot, 'infra', 'scripts', 'build.mjs')], { cwd: repoRoot, stdio: 'ignore' });
    this.nats = await testNats();
    this.nc = await connect({ servers: this.nats.url, name: 'agent-harness' });
    this.js = jetstream(this.nc);
    this.jsm = await jetstreamManager(this.nc);
    await ensureWorkStream(this.jsm);
    this.platform = await startFakePlatform(this.jsm, this.nats.url);
    this.observer = new WorkObserver(this.nc);
  }

  async tearDown(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.kill()));
    this.observer?.close();
    await this.platform?.close();
    await this.nc?.drain();
    await this.nats?.stop();
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }

  /** A fresh directory, removed at tear-down; owned by `owner` when given. */
  tempDir(owner?: { uid: number; gid: number }): string {
    const dir = mkdtempSync(join(tmpdir(), 'agentyard-worker-'));
    this.dirs.push(dir);
    if (owner) chownSync(dir, owner.uid, owner.gid);
    return dir;
  }

  /** `agentyard-worker start --url <fake platform> …args`. */
  start(args: string[], options: { env?: NodeJS.ProcessEnv; as?: { uid: number; gid: number } } = {}): AgentProcess {
    const agent = runAgent(['start', '--url', this.platform.url, ...args], { ...this.env, ...options.env }, options.as);
    this.agents.push(agent);
    return agent;
  }

  /** Starts an agent with a new token and resolves once its first heartbeat arrives. */
  async startWorker(args: string[], options: { stateDir?: string; env?: NodeJS.ProcessEnv; as?: { uid: number; gid: number } } = {}): Promise<StartedWorker> {
    const stateDir = options.stateDir ?? this.tempDir(options.as);
    const before = this.platform.registrations.length;
    const token = newRegistrationToken();
    const agent = this.start(['--token', token, '--state-dir', stateDir, ...args], options);
    const deadline = Date.now() + 15_000;
    while (this.platform.registrations.length === before) {
      if (Date.now() > deadline || agent.child.exitCode !== null) throw new Error(`agent did not register:\n${agent.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const workerId = this.platform.registrations[this.platform.registrations.length - 1]!.workerId;
    await this.observer.heartbeats.waitFor((h) => h.workerId === workerId, 10_000, `first heartbeat of ${workerId}`);
    return { agent, workerId, stateDir, token };
  }

  async order(workerId: string, workOrder: WorkOrder): Promise<void> {
    await this.js.publish(workSubjects.assign(workerId), JSON.stringify(workOrder), { msgID: `${workOrder.kind}:${workOrder.taskId}:${workOrder.attempt}` });
  }
}

export function shellTask(command: string, extra: Partial<Assignment> & { env?: Record<string, string>; cwd?: string } = {}): Assignment {
  const { env, cwd, ...rest } = extra;
  return {
    kind: 'assign',
    taskId: randomUUID(),
    attempt: 1,
    tool: 'shell',
    input: { command, ...(env ? { env } : {}), ...(cwd ? { cwd } : {}) },
    description: 'test task',
    timeoutSeconds: 60,
    heartbeatTimeoutSeconds: 30,
    ...rest,
  };
}

/**
 * A `sleep` duration no other process uses (`60.000123` sleeps 60 s): the test finds the sleep's
 * host pid by it, whatever pid namespace the task runs in.
 */
export function uniqueSleep(seconds: number): string {
  return `${seconds}.${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
}

/** Host pids of live processes whose command line contains `marker`. */
export function pidsWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker) && processAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Waits until `check` holds (polling), or fails naming `what`. */
export async function eventually<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
