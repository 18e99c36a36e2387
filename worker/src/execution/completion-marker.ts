/*
 * Why this exists: node-pty reports a process's exit after the PTY closes, or after a fixed 200 ms
 * if it does not — and then destroys the PTY. Under CPU pressure the kernel can deliver a tool's
 * last output to the master side later than that, and the output is lost (seen in the gateway's
 * 50-task e2e: a task succeeded with an empty output tail). So the tool runs under a tiny
 * /bin/sh wrapper that, after the tool exits, prints a per-run marker and waits for one line of
 * input. The PTY delivers bytes in order, so when the agent reads the marker it has every byte
 * the tool wrote; it then answers with a newline and the wrapper exits with the tool's status.
 * A tool that prints the marker itself only truncates its own output: the exit status still
 * comes from the process.
 *
 * The wrapper also writes the tool's exit status to a file in the attempt's directory (when given
 * one) before the marker: if the agent is killed between the tool's exit and its own record of it
 * — a window of tens to hundreds of milliseconds on a busy agent — its restart finds the status and
 * reports the attempt instead of handing it back to run again (agent/leftover-attempt.ts).
 *
 * The wrapper catches SIGTERM (a handler, not an ignore, so the tool keeps the default action):
 * on cancel or timeout the tool gets its grace period while the wrapper waits for it. In a
 * bubblewrap sandbox this matters: the wrapper is the sandbox init's only child, and its death
 * would end the sandbox — and the tool — at once.
 */
import { randomBytes } from 'node:crypto';

/** The wrapper: `sh -c <script> agentyard-task <nonce> <status file or ''> <file> <args…>`. */
export const wrapperScript = [
  'nonce=$1; status=$2; shift 2',
  'trap : TERM',
  '"$@"',
  'rc=$?',
  '[ -z "$status" ] || { printf \'%s\\n\' "$rc" > "$status"; } 2>/dev/null',
  'printf \'\\033]9999;agentyard-done-%s\\007\' "$nonce"',
  'IFS= read -r _ack',
  'exit "$rc"',
].join('\n');

/** The argv that runs `file args` under the wrapper (writing its exit status to `statusFile`, if any), and the marker to look for. */
export function wrapCommand(
  file: string,
  args: string[],
  statusFile = '',
  nonce = randomBytes(12).toString('hex'),
): { file: string; args: string[]; marker: string } {
  return {
    file: '/bin/sh',
    args: ['-c', wrapperScript, 'agentyard-task', nonce, statusFile, file, ...args],
    marker: `\x1b]9999;agentyard-done-${nonce}\x07`,
  };
}

/**
 * Passes output through until the marker, which it removes; holds back a trailing partial marker
 * until the next piece shows whether it is one. Everything after the marker is dropped (the
 * wrapper's echo of our newline).
 */
export class CompletionMarkerFilter {
  private held = '';
  private seen = false;

  constructor(private readonly marker: string) {}

  /** True once the marker arrived: all of the tool's output has been passed on. */
  get complete(): boolean {
    return this.seen;
  }

  /** Returns the output to pass on. */
  push(data: string): string {
    if (this.seen) return '';
    const text = this.held + data;
    this.held = '';
    const at = text.indexOf(this.marker);
    if (at !== -1) {
      this.seen = true;
      return text.slice(0, at);
    }
    const keep = partialSuffix(text, this.marker);
    this.held = text.slice(text.length - keep);
    return text.slice(0, text.length - keep);
  }

  /** Output held back for a marker that never came (the tool was killed). */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return this.seen ? '' : rest;
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of `marker`. */
function partialSuffix(text: string, marker: string): number {
  const start = text.lastIndexOf(marker[0] ?? '', text.length - 1);
  if (start === -1 || text.length - start >= marker.length) return 0;
  return marker.startsWith(text.slice(start)) ? text.length - start : 0;
}
