/*
 * Runs a compiled service (services/<name>/dist/main.js) as a real child process for end-to-end
 * tests, and waits for its readiness endpoint. Output is kept (last 20 kB) so a failing test can
 * print why the service died.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

export interface ServiceProcess {
  readonly name: string;
  readonly pid: number | undefined;
  readonly output: () => string;
  /** SIGTERM and wait (SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** SIGKILL and wait: the crash case. */
  kill(): Promise<void>;
}

const repoRoot = resolve(__dirname, '..', '..', '..', '..');

/**
 * Starts `services/<name>/dist/main.js` with `env` and resolves once `readyUrl` answers 200. The
 * last `keepOutputBytes` of its output are kept (a test that searches all of it asks for more).
 */
export async function startService(
  name: string,
  env: Record<string, string>,
  readyUrl: string,
  // A loaded machine (the crash matrix beside other suites) can take longer: AGENTYARD_SERVICE_READY_TIMEOUT_MS.
  timeoutMs = Number(process.env.AGENTYARD_SERVICE_READY_TIMEOUT_MS ?? 30_000),
  keepOutputBytes = 20_000,
): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(process.execPath, [join(repoRoot, 'services', name, 'dist', 'main.js')], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-keepOutputBytes);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let stopping = false;
  const exited = new Promise<void>((r) =>
    child.once('exit', (code, signal) => {
      // A service that dies mid-test shows up as "no service answers" far from the cause: say it here, with its output.
      if (!stopping) process.stderr.write(`[local-infra] ${name} exited unexpectedly (code ${code}, signal ${signal}); its last output:\n${out}\n`);
      r();
    }),
  );
  const waitExit = async (signal: NodeJS.Signals): Promise<void> => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    child.stdout?.destroy();
    child.stderr?.destroy();
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was ready:\n${out}`);
    try {
      const res = await fetch(readyUrl);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await waitExit('SIGKILL');
      throw new Error(`${name} not ready at ${readyUrl} after ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name,
    get pid() {
      return child.pid;
    },
    output: () => out,
    stop: () => waitExit('SIGTERM'),
    kill: () => waitExit('SIGKILL'),
  };
}
