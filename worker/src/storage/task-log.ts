/*
 * An attempt's full log: its masked output, written as it arrives to a file in the agent's state
 * dir (out of the task's reach), uploaded as the artifact `log` when the attempt ends. The live
 * stream and the result's tail are bounded; this is the whole of it, up to `limitBytes` — past
 * that the file stops growing and ends with a note (the tail still has the end).
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Largest log kept per attempt. */
export const taskLogLimitBytes = 64 * 1024 * 1024;

export class TaskLog {
  private fd: number | undefined;
  private written = 0;
  private cut = false;

  private constructor(
    readonly path: string,
    private readonly limitBytes: number,
  ) {
    this.fd = openSync(path, 'w', 0o600);
  }

  /** Opens `<state-dir>/logs/<task>-<attempt>.log`, empty. */
  static open(stateDir: string, taskId: string, attempt: number, limitBytes = taskLogLimitBytes): TaskLog {
    const dir = join(stateDir, 'logs');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return new TaskLog(join(dir, `${taskId}-${attempt}.log`), limitBytes);
  }

  write(text: string): void {
    if (this.fd === undefined || this.cut || text === '') return;
    const bytes = Buffer.from(text, 'utf8');
    const room = this.limitBytes - this.written;
    if (bytes.length > room) {
      this.cut = true;
      writeSync(this.fd, bytes.subarray(0, room));
      writeSync(this.fd, `\n[agentyard: log cut at ${this.limitBytes} bytes]\n`);
      this.written = this.limitBytes;
      return;
    }
    writeSync(this.fd, bytes);
    this.written += bytes.length;
  }

  /** Closes the file and returns its bytes; the file is removed. */
  finish(): Buffer {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    try {
      return readFileSync(this.path);
    } finally {
      rmSync(this.path, { force: true });
    }
  }

  /** Closes and removes the file without reading it (the attempt never started). */
  discard(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.path, { force: true });
  }
}
