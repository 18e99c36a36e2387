/*
 * Runs the real, compiled agent (`node <flags> worker/dist/main.js …`) as a child process, the way a
 * machine runs it, and keeps its log for assertions and for debugging a failed test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { agentNodeFlags } from '@agentyard/local-infra';

export const repoRoot = join(__dirname, '..', '..');
export const agentMain = join(repoRoot, 'worker', 'dist', 'main.js');

export interface AgentProcess {
  readonly child: ChildProcess;
  /** stderr (the agent's log) and stdout so far. */
  log(): string;
  stdout(): string;
  /** Resolves with the exit code (null if killed by a signal). */
  readonly exited: Promise<number | null>;
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL if still running (cleanup). */
  kill(): Promise<void>;
}

/** `as`: run the agent under this uid/gid (the suite runs as root in CI; some cases need a plain user). */
export function runAgent(args: string[], env: NodeJS.ProcessEnv = process.env, as?: { uid: number; gid: number }): AgentProcess {
  // With the installed command's Node flags (its shebang), so the tests run what users run.
  const child = spawn(process.execPath, [...agentNodeFlags(repoRoot), agentMain, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], ...as });
  let err = '';
  let out = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    log: () => err,
    stdout: () => out,
    exited,
    signal: (signal) => void child.kill(signal),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
