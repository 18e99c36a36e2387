import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TaskResult } from '@agentyard/contracts/agent';
import { addStructuredOutput, prepareStructuredOutput, readStructuredOutput } from './structured-output';

describe('Structured output', () => {
  let root: string;
  let file: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ayw-output-'));
    file = prepareStructuredOutput(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('names <attempt root>/.agentyard/output.json, whose directory exists (private) and whose file does not', () => {
    expect(file).toBe(join(root, '.agentyard', 'output.json'));
    expect(statSync(dirname(file)).mode & 0o777).toBe(0o700);
    expect(readStructuredOutput(file)).toEqual({ kind: 'none' });
    expect(prepareStructuredOutput(root)).toBe(file); // a task whose cwd is .agentyard made it first
  });

  it('is the JSON the task wrote, a byte-order mark or not', () => {
    writeFileSync(file, '{"steps":[1,2]}\n');
    expect(readStructuredOutput(file)).toEqual({ kind: 'value', value: { steps: [1, 2] } });
    writeFileSync(file, '\uFEFF["é"]');
    expect(readStructuredOutput(file)).toEqual({ kind: 'value', value: ['é'] });
  });

  it('is refused when it is not JSON, saying where', () => {
    const cases: Array<[string, string]> = [
      ['{"steps":\n  [1, 2', 'AGENTYARD_OUTPUT: not valid JSON at line 2, column 8 (close bracket expected)'],
      ['{"a": 1,}', 'AGENTYARD_OUTPUT: not valid JSON at line 1, column 9 (property name expected)'],
      ['{"a":\n x}', 'AGENTYARD_OUTPUT: not valid JSON at line 2, column 2 (invalid symbol)'],
      ['// note\n{}', 'AGENTYARD_OUTPUT: not valid JSON at line 1, column 1 (invalid comment token)'],
      ['', 'AGENTYARD_OUTPUT: not valid JSON at line 1, column 1 (the file is empty)'],
    ];
    for (const [text, error] of cases) {
      writeFileSync(file, text);
      expect({ text, read: readStructuredOutput(file) }).toEqual({ text, read: { kind: 'invalid', error } });
    }
    writeFileSync(file, Buffer.from([0x22, 0xff, 0x22]));
    expect(readStructuredOutput(file)).toEqual({ kind: 'invalid', error: 'AGENTYARD_OUTPUT: not valid UTF-8; JSON must be UTF-8 text' });
  });

  it('is refused when larger than 64 KiB — as a file, or once its JSON is written out again — or nested too deep', () => {
    writeFileSync(file, `"${'x'.repeat(80 * 1024 - 2)}"`);
    expect(readStructuredOutput(file)).toEqual({ kind: 'invalid', error: 'AGENTYARD_OUTPUT: 80 KiB, more than the 64 KiB allowed' });
    // 1e9 is 3 bytes in the file and 1000000000 10 in the result: 7,000 of them fit the file, not the result.
    writeFileSync(file, `[${Array.from({ length: 7_000 }, () => '1e9').join(',')}]`);
    expect(readStructuredOutput(file)).toEqual({ kind: 'invalid', error: 'AGENTYARD_OUTPUT: 76 KiB, more than the 64 KiB allowed' });
    writeFileSync(file, '['.repeat(30_000) + ']'.repeat(30_000));
    expect(readStructuredOutput(file)).toEqual({ kind: 'invalid', error: 'AGENTYARD_OUTPUT: nested deeper than the 64 levels allowed' });
  });

  it('never follows a link out of the attempt directory, and never waits on a FIFO', () => {
    const secret = join(mkdtempSync(join(tmpdir(), 'ayw-secret-')), 'worker.json');
    writeFileSync(secret, '{"credential":"ayw_secret"}');
    try {
      symlinkSync(secret, file);
      expect(readStructuredOutput(file)).toEqual({ kind: 'invalid', error: 'AGENTYARD_OUTPUT: is a symbolic link; write the JSON to the file itself' });
      rmSync(dirname(file), { recursive: true });
      symlinkSync(dirname(secret), dirname(file));
      writeFileSync(join(dirname(secret), 'output.json'), '{"credential":"ayw_secret"}');
      expect(readStructuredOutput(file)).toEqual({
        kind: 'invalid',
        error: 'AGENTYARD_OUTPUT: .agentyard was replaced by a link or a file; write the JSON to the path the variable names',
      });
    } finally {
      rmSync(dirname(secret), { recursive: true, force: true });
    }
    rmSync(dirname(file), { force: true });
    mkdirSync(dirname(file));
    execFileSync('mkfifo', [file]);
    expect(readStructuredOutput(file)).toEqual({ kind: 'invalid', error: 'AGENTYARD_OUTPUT: is not a regular file' });
  });

  it('is no output when the task removed its .agentyard directory', () => {
    rmSync(dirname(file), { recursive: true });
    expect(readStructuredOutput(file)).toEqual({ kind: 'none' });
  });

  describe('in the result', () => {
    const result = (): TaskResult => ({ exitCode: 0, outputTail: '', durationMs: 1 });
    it('is set when usable, absent when there is none, and an unusable one fails the attempt with its reason first', () => {
      const withValue = result();
      expect(addStructuredOutput(withValue, { kind: 'value', value: { a: 1 } })).toBe(true);
      expect(withValue.output).toEqual({ a: 1 });
      const without = result();
      expect(addStructuredOutput(without, { kind: 'none' })).toBe(true);
      expect(without).not.toHaveProperty('output');
      const signalled = { ...result(), error: 'terminated by signal 9' };
      expect(addStructuredOutput(signalled, { kind: 'invalid', error: 'AGENTYARD_OUTPUT: not valid JSON' })).toBe(false);
      expect(signalled).toEqual({ ...result(), error: 'AGENTYARD_OUTPUT: not valid JSON; terminated by signal 9' });
    });
  });
});
