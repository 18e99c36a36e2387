/*
 * Structured output (worker/README.md, "Structured output"): every attempt's process finds in
 * AGENTYARD_OUTPUT the path of a file inside the attempt's own directory,
 * `<attempt root>/.agentyard/output.json` (the directory exists, the file does not). After the
 * process exits the agent reads the file if it is there; its JSON becomes the result's `output`,
 * which a workflow passes on to the next node.
 *
 * Invariants (structured-output.unit.spec.ts; test/worker-agent.int.spec.ts):
 *  - no file, no output; a file that is not usable output — larger than 64 KiB, not JSON, nested
 *    too deep — fails the attempt with a message naming the problem, never a silent drop;
 *  - the agent never reads anything but a regular file inside the attempt's directory, owned by
 *    whoever owns that directory: a task that replaces the file or `.agentyard` with a link (to the
 *    agent's credentials, say), or with a FIFO, gets a failed attempt and no content. The checks
 *    run after the process group is gone (TaskProcess), so nothing of the task can swap the path
 *    between check and read;
 *  - the file is read with at most 64 KiB + 1 bytes in memory, whatever its size.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync, statSync, chownSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { structuredOutputMaxBytes, structuredOutputProblem, type TaskResult } from '@agentyard/contracts/agent';

/** The variable naming the file a task writes its structured output to. */
export const outputEnvName = 'AGENTYARD_OUTPUT';

/** What an attempt left: nothing, a usable value, or why it cannot be used (prefixed with the variable's name). */
export type StructuredOutput = { kind: 'none' } | { kind: 'value'; value: unknown } | { kind: 'invalid'; error: string };

/**
 * Creates `<attemptRoot>/.agentyard`, owned like the attempt's directory (a task running as
 * another user must be able to write there), and returns the output file's path.
 */
export function prepareStructuredOutput(attemptRoot: string): string {
  const dir = join(attemptRoot, '.agentyard');
  // Recursive: a task whose cwd is `.agentyard` has it already.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const owner = statSync(attemptRoot);
  if (process.getuid && (owner.uid !== process.getuid() || owner.gid !== process.getgid!())) chownSync(dir, owner.uid, owner.gid);
  return join(dir, 'output.json');
}

/** Reads and checks the output file of an attempt whose process has exited; never throws. */
export function readStructuredOutput(file: string): StructuredOutput {
  const invalid = (problem: string): StructuredOutput => ({ kind: 'invalid', error: `${outputEnvName}: ${problem}` });
  const dir = dirname(file);
  const root = statIfPresent(dirname(dir), statSync);
  const dirStats = statIfPresent(dir, lstatSync);
  if (!root || !dirStats) return { kind: 'none' }; // the task removed its .agentyard directory: nothing to read
  if (!dirStats.isDirectory()) return invalid(`${basename(dir)} was replaced by a link or a file; write the JSON to the path the variable names`);

  let fd: number;
  try {
    // NOFOLLOW: a link is refused, not followed; NONBLOCK: opening a FIFO cannot hang the agent.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none' };
    if (code === 'ELOOP') return invalid('is a symbolic link; write the JSON to the file itself');
    return invalid(`cannot be read (${code ?? String(error)})`);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return invalid('is not a regular file');
    if (stats.uid !== root.uid) return invalid('belongs to another user than the task');
    if (stats.size > structuredOutputMaxBytes) return invalid(tooLarge(stats.size));
    // One byte more than allowed is enough to tell a file that grew past the limit since fstat.
    const buffer = Buffer.alloc(structuredOutputMaxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > structuredOutputMaxBytes) return invalid(tooLarge(length));
    return parse(buffer.subarray(0, length), invalid);
  } catch (error) {
    return invalid(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  } finally {
    closeSync(fd);
  }
}

/** Puts a usable output in `result`; for an unusable one adds why to its error and returns false: the attempt fails. */
export function addStructuredOutput(result: TaskResult, structured: StructuredOutput): boolean {
  if (structured.kind === 'none') return true;
  if (structured.kind === 'value') {
    result.output = structured.value;
    return true;
  }
  result.error = [structured.error, result.error].filter(Boolean).join('; ').slice(0, 4096);
  return false;
}

function statIfPresent(path: string, stat: (path: string) => Stats): Stats | undefined {
  try {
    return stat(path);
  } catch {
    return undefined;
  }
}

const tooLarge = (bytes: number): string => `${Math.ceil(bytes / 1024)} KiB, more than the ${structuredOutputMaxBytes / 1024} KiB allowed`;

function parse(bytes: Buffer, invalid: (problem: string) => StructuredOutput): StructuredOutput {
  let text: string;
  try {
    // JSON is UTF-8; a byte-order mark is dropped (some editors and shells write one).
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return invalid('not valid UTF-8; JSON must be UTF-8 text');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return invalid(`not valid JSON ${whereJsonFails(text, error)}`);
  }
  // Re-serialised, a value can outgrow its file (1e9 → 1000000000), and it can nest too deep.
  const problem = structuredOutputProblem(value);
  return problem ? invalid(problem) : { kind: 'value', value };
}

/**
 * `at line L, column C (what was expected)`. JSON.parse names no line and, for some errors, no
 * position either; jsonc-parser (strict: no comments, no trailing commas) finds the first error.
 * Loaded only here: a task that writes valid output, or none, never pays for it.
 */
function whereJsonFails(text: string, parseError: unknown): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose (see above)
  const jsonc = require('jsonc-parser') as typeof import('jsonc-parser');
  const errors: import('jsonc-parser').ParseError[] = [];
  jsonc.parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return `(${String((parseError as Error).message ?? parseError).slice(0, 200)})`;
  const before = text.slice(0, first.offset);
  const line = before.split('\n').length;
  const column = first.offset - before.lastIndexOf('\n');
  const what = text.trim() === '' ? 'the file is empty' : words(jsonc.printParseErrorCode(first.error));
  return `at line ${line}, column ${column} (${what})`;
}

/** `CommaExpected` → `comma expected`. */
const words = (code: string): string => code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
