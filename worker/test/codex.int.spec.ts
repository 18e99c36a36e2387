/*
 * The codex tool with the real CLI (node_modules/.bin/codex, 0.171.0) against a stand-in of the
 * OpenAI Responses API: the command buildCommand makes runs in a PTY as TaskProcess runs it (cols
 * 160), its output goes through LineSplitter and the tool's parser, as in the agent. Proves that
 * the edit mode changes a file through codex's own apply_patch, that read-only does not, and that
 * the result carries the usage the stand-in reported, summed over every request codex made.
 *
 * The attempt layout mirrors a task-user attempt: `<root>/work/<task>-1` (the work dir, which
 * holds CODEX_HOME), a private HOME and TMPDIR beside it. TMPDIR matters: codex skips its
 * apply_patch helpers when CODEX_HOME lies under the temp dir, and this test's root is in /tmp.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node-pty';
import { LineSplitter, outcomeOf, type AgentEvent } from '../src/tools/agent-stream';
import { codexTool } from '../src/tools/codex.tool';
import {
  declaredTools,
  responsesUserTexts as userTexts,
  startResponsesStandIn,
  toolOutputs,
  type ResponsesStandIn,
  type StandInStep,
} from '@agentyard/local-infra';

jest.setTimeout(60_000);

const bin = resolve(__dirname, '../../node_modules/.bin');
const original = 'old line\n';
const patch = '*** Begin Patch\n*** Update File: notes.txt\n@@\n-old line\n+new line from the stand-in\n*** End Patch\n';
const script: StandInStep[] = [
  { kind: 'patch', patch, usage: { inputTokens: 1200, cachedTokens: 200, outputTokens: 40, reasoningTokens: 12 } },
  { kind: 'text', text: 'Updated notes.txt as asked.', usage: { inputTokens: 1350, cachedTokens: 1100, outputTokens: 15, reasoningTokens: 0 } },
];

interface Run {
  events: AgentEvent[];
  exitCode: number;
  output: string;
  workDir: string;
}

let root: string;
let standIn: ResponsesStandIn;

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'ay-codex-'));
  standIn = await startResponsesStandIn(script);
});
afterEach(async () => {
  await standIn.close();
  rmSync(root, { recursive: true, force: true });
});

async function runCodex(permissionMode: 'read-only' | 'edit', prompt: string): Promise<Run> {
  const workDir = join(root, 'work', 'task-1');
  const home = join(root, 'home');
  const tmp = join(root, 'tmp');
  for (const dir of [workDir, home, tmp]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(workDir, 'notes.txt'), original);
  const hostEnv = { OPENAI_API_KEY: 'sk-stand-in', OPENAI_BASE_URL: standIn.url, SECRET_X: 'not forwarded' };
  const tool = codexTool(bin, hostEnv);
  expect(await tool.detect()).toMatchObject({ version: '0.171.0' });
  const command = tool.buildCommand({ prompt, permissionMode }, { workDir, cwd: workDir, hostEnv });
  expect(command.env.SECRET_X).toBeUndefined();

  const parser = tool.streamParser!();
  const lines = new LineSplitter();
  const events: AgentEvent[] = [];
  let output = '';
  const env = { ...command.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: home, TMPDIR: tmp, TERM: 'xterm-256color' };
  const pty = spawn(command.file, command.args, { cwd: workDir, env, cols: 160, rows: 48 });
  pty.onData((data) => {
    output += data;
    for (const line of lines.feed(data)) events.push(...parser.push(line));
  });
  const exitCode = await new Promise<number>((done) => pty.onExit(({ exitCode }) => done(exitCode)));
  for (const line of lines.flush()) events.push(...parser.push(line));
  events.push(...parser.end());
  return { events, exitCode, output, workDir };
}

/** What the stand-in told codex it used, over every request it answered. */
function reportedUsage(): { inputTokens: number; outputTokens: number; cachedInputTokens: number } {
  const answered = standIn.requests.flatMap((r) => (r.answeredWith ? [r.answeredWith] : []));
  return {
    inputTokens: answered.reduce((sum, u) => sum + u.inputTokens, 0),
    outputTokens: answered.reduce((sum, u) => sum + u.outputTokens, 0),
    cachedInputTokens: answered.reduce((sum, u) => sum + u.cachedTokens, 0),
  };
}

describe('codex tool with the real codex CLI', () => {
  describe('in edit mode', () => {
    it('changes the file through apply_patch and reports session, text, edit and the whole usage', async () => {
      const run = await runCodex('edit', 'Replace the line in notes.txt');
      expect({ exitCode: run.exitCode, output: run.exitCode === 0 ? '' : run.output }).toEqual({ exitCode: 0, output: '' });

      // (a) the file has the stand-in's content
      expect(readFileSync(join(run.workDir, 'notes.txt'), 'utf8')).toBe('new line from the stand-in\n');

      // (f) the prompt arrived, the tool it called was declared, and its output came back
      expect(standIn.requests.every((r) => r.method === 'POST' && r.url === '/v1/responses')).toBe(true);
      expect(standIn.requests.length).toBeGreaterThanOrEqual(2);
      expect(userTexts(standIn.requests[0]!)).toContain('Replace the line in notes.txt');
      expect(declaredTools(standIn.requests[0]!)).toContain('functions.exec');
      expect(standIn.requests[0]!.headers.authorization).toBe('Bearer sk-stand-in');
      const returned = toolOutputs(standIn.requests[1]!).join('\n');
      expect(returned).toContain('Script completed');
      expect(returned).not.toMatch(/Failed to write|Script failed/);

      // (d) the session is codex's thread, the one it named to the API
      const outcome = outcomeOf(run.events);
      expect(outcome.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(standIn.requests[0]!.headers['session-id']).toBe(outcome.sessionId);

      // (e) text, tool call, its result and the file edit
      expect(run.events).toContainEqual({ kind: 'text', text: 'Updated notes.txt as asked.' });
      expect(run.events).toContainEqual(expect.objectContaining({ kind: 'tool_call', name: 'apply_patch' }));
      expect(run.events).toContainEqual(expect.objectContaining({ kind: 'tool_result', isError: false }));
      expect(run.events).toContainEqual({ kind: 'file_edit', path: join(run.workDir, 'notes.txt'), change: 'update' });

      // (c) usage summed over every request codex made; codex reports no cost
      expect(outcome.summary).toBe('Updated notes.txt as asked.');
      expect(outcome.usage).toEqual({ ...reportedUsage(), costUsd: null, turns: 1, sessionId: outcome.sessionId });
      expect(outcome.usage!.inputTokens).toBe(2550);
      expect(run.events.at(-1)).toMatchObject({ kind: 'result', isError: false });
    });
  });

  describe('in read-only mode', () => {
    it('leaves the file as it was and reports the refused edit', async () => {
      const run = await runCodex('read-only', 'Replace the line in notes.txt');
      expect(run.exitCode).toBe(0);

      // (b) unchanged
      expect(readFileSync(join(run.workDir, 'notes.txt'), 'utf8')).toBe(original);

      // codex told the model the write failed; it prints no file_change item at all, so no edit is reported
      expect(userTexts(standIn.requests[0]!)).toContain('Replace the line in notes.txt');
      expect(toolOutputs(standIn.requests[1]!).join('\n')).toMatch(/Script failed/);
      expect(run.events.some((e) => e.kind === 'file_edit' || (e.kind === 'tool_result' && !e.isError))).toBe(false);
      expect(outcomeOf(run.events).usage).toMatchObject({ ...reportedUsage(), costUsd: null });
    });
  });
});
