/*
 * The gemini-cli tool with the real CLI (node_modules/.bin/gemini, @google/gemini-cli 0.61.0),
 * run as production runs it: the tool's argv and env in a PTY of 160 columns, its output split
 * into lines and parsed by the tool's own parser. The only stand-in is the Gemini API
 * (services/libs/local-infra/src/stand-ins/gemini.stand-in.ts), scripted per test and recording every request.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node-pty';
import type { AgentUsage, PromptInput } from '@agentyard/contracts/agent';
import { LineSplitter, outcomeOf, type AgentEvent } from '../src/tools/agent-stream';
import { geminiCliTool } from '../src/tools/gemini-cli.tool';
import type { Tool } from '../src/tools/tool';
import {
  declaredTool,
  functionResponses,
  requestTexts,
  startGeminiStandIn,
  writeFileCall,
  type GeminiStandIn,
  type GeminiStandInScript,
} from '@agentyard/local-infra';

jest.setTimeout(60_000);

const bin = join(__dirname, '..', '..', 'node_modules', '.bin');
const dirs: string[] = [];
const standIns: GeminiStandIn[] = [];

afterAll(async () => {
  await Promise.all(standIns.map((s) => s.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  events: AgentEvent[];
  exitCode: number;
  output: string;
  workDir: string;
  standIn: GeminiStandIn;
}

/** One attempt: a fresh attempt dir holding `notes.txt` ("old"), the real CLI in a PTY, the stand-in answering. */
async function runGemini(input: PromptInput, script: GeminiStandInScript): Promise<Run> {
  const standIn = await startGeminiStandIn(script);
  standIns.push(standIn);
  const root = mkdtempSync(join(tmpdir(), 'gemini-cli-int-'));
  dirs.push(root);
  const workDir = join(root, 'attempt');
  const home = join(root, 'home');
  mkdirSync(workDir);
  mkdirSync(home);
  writeFileSync(join(workDir, 'notes.txt'), 'old\n');

  const hostEnv = { GEMINI_API_KEY: 'stand-in-key', GOOGLE_GEMINI_BASE_URL: standIn.url };
  const tool: Tool<PromptInput> = geminiCliTool(bin, hostEnv);
  expect(await tool.detect()).toEqual({ version: '0.61.0' });
  const command = tool.buildCommand(input, { workDir, cwd: workDir, hostEnv });
  const parser = tool.streamParser!();
  const lines = new LineSplitter();
  const events: AgentEvent[] = [];
  let output = '';

  const pty = spawn(command.file, command.args, { cwd: workDir, env: { ...command.env, PATH: process.env.PATH ?? '', HOME: home }, cols: 160, rows: 48 });
  pty.onData((data) => {
    output += data;
    for (const line of lines.feed(data)) events.push(...parser.push(line));
  });
  const exitCode = await new Promise<number>((resolve) => pty.onExit((e) => resolve(e.exitCode)));
  for (const line of lines.flush()) events.push(...parser.push(line));
  events.push(...parser.end());
  return { events, exitCode, output, workDir, standIn };
}

/** What the stand-in charged, summed over every response it served (side calls included). */
function chargedUsage(standIn: GeminiStandIn): Pick<AgentUsage, 'inputTokens' | 'outputTokens' | 'cachedInputTokens' | 'models'> {
  const models: NonNullable<AgentUsage['models']> = {};
  let inputTokens = 0;
  let outputTokens = 0;
  let cachedInputTokens = 0;
  for (const { model, usage } of standIn.served) {
    inputTokens += usage.promptTokenCount;
    // Thoughts are output (billed so); the CLI reports them only inside its total.
    outputTokens += usage.candidatesTokenCount + (usage.thoughtsTokenCount ?? 0);
    cachedInputTokens += usage.cachedContentTokenCount ?? 0;
    const m = (models[model] ??= { inputTokens: 0, outputTokens: 0, costUsd: null });
    m.inputTokens += usage.promptTokenCount;
    m.outputTokens += usage.candidatesTokenCount + (usage.thoughtsTokenCount ?? 0);
  }
  return { inputTokens, outputTokens, cachedInputTokens, models };
}

const prompt = 'Put "hello from the stand-in" into notes.txt, then say what you did.';

/** Turn 1: some text and a write_file call; turn 2: the final answer. */
const editScript = (): GeminiStandInScript => ({
  turns: [
    (request) => ({
      parts: [{ text: 'I will write notes.txt.' }, writeFileCall(request, 'notes.txt', 'hello from the stand-in\n')],
      usage: { promptTokenCount: 1000, candidatesTokenCount: 20, thoughtsTokenCount: 45, cachedContentTokenCount: 400 },
    }),
    { parts: [{ text: 'Done: notes.txt now says hello.' }], usage: { promptTokenCount: 1100, candidatesTokenCount: 8, cachedContentTokenCount: 600 } },
  ],
  sideCallUsage: { promptTokenCount: 70, candidatesTokenCount: 3 },
});

describe('gemini-cli tool, real CLI against a Gemini API stand-in', () => {
  describe('in edit mode without a model', () => {
    let run: Run;
    beforeAll(async () => {
      run = await runGemini({ prompt, permissionMode: 'edit' }, editScript());
    });

    it('exits 0 and the file has the content the model asked for', () => {
      expect(run.exitCode).toBe(0);
      expect(readFileSync(join(run.workDir, 'notes.txt'), 'utf8')).toBe('hello from the stand-in\n');
    });

    it('reports the usage of every call the CLI made, the routing side call included, per model', () => {
      const charged = chargedUsage(run.standIn);
      // The router's side call plus two streamed turns.
      expect(run.standIn.served).toHaveLength(3);
      expect(run.standIn.requests.filter((r) => r.action === 'generateContent')).toHaveLength(1);
      const { usage } = outcomeOf(run.events);
      expect(usage).toMatchObject({ ...charged, costUsd: null, turns: 2 });
      expect(usage?.inputTokens).toBe(70 + 1000 + 1100);
      expect(usage?.outputTokens).toBe(3 + 20 + 45 + 8);
      expect(Object.keys(usage?.models ?? {})).toHaveLength(2);
    });

    it('reports its session id', () => {
      const session = run.events.find((e) => e.kind === 'session');
      expect(session).toMatchObject({ kind: 'session', sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(outcomeOf(run.events).usage?.sessionId).toBe((session as { sessionId: string }).sessionId);
    });

    it('streams the text, the write_file call, its result and the file edit, and ends with the final answer', () => {
      expect(run.events).toContainEqual({ kind: 'text', text: 'I will write notes.txt.' });
      expect(run.events).toContainEqual(
        expect.objectContaining({ kind: 'tool_call', name: 'write_file', input: expect.objectContaining({ file_path: 'notes.txt' }) }),
      );
      expect(run.events).toContainEqual(expect.objectContaining({ kind: 'tool_result', isError: false }));
      expect(run.events).toContainEqual({ kind: 'file_edit', path: 'notes.txt', change: 'update' });
      expect(run.events.at(-1)).toMatchObject({ kind: 'result', isError: false, summary: 'Done: notes.txt now says hello.' });
    });

    it('sent the prompt, offered write_file, and returned the tool result to the model', () => {
      const turns = run.standIn.requests.filter((r) => r.action === 'streamGenerateContent');
      expect(turns).toHaveLength(2);
      expect(requestTexts(turns[0]!)).toContain(prompt);
      expect(declaredTool(turns[0]!, 'write_file')).toBeDefined();
      expect(functionResponses(turns[1]!)).toContainEqual(expect.objectContaining({ name: 'write_file' }));
      expect(turns.every((r) => r.headers['x-goog-api-key'] === 'stand-in-key')).toBe(true);
    });

    it('kept its config in the attempt dir, away from HOME', () => {
      expect(JSON.parse(readFileSync(join(run.workDir, '.agentyard', 'gemini-home', '.gemini', 'settings.json'), 'utf8'))).toMatchObject({
        security: { auth: { selectedType: 'gemini-api-key' } },
      });
    });
  });

  describe('in read-only mode with a model', () => {
    let run: Run;
    beforeAll(async () => {
      run = await runGemini({ prompt, model: 'gemini-2.5-flash' }, editScript());
    });

    it('leaves the file alone even when the model asks to write it', () => {
      expect(readFileSync(join(run.workDir, 'notes.txt'), 'utf8')).toBe('old\n');
      const first = run.standIn.requests.find((r) => r.action === 'streamGenerateContent')!;
      expect(declaredTool(first, 'write_file')).toBeUndefined();
      expect(run.events).not.toContainEqual(expect.objectContaining({ kind: 'file_edit' }));
      // The CLI answers the undeclared call with an error, sent back to the model and shown in the stream.
      expect(run.events).toContainEqual(expect.objectContaining({ kind: 'tool_result', isError: true }));
      const second = run.standIn.requests.filter((r) => r.action === 'streamGenerateContent')[1]!;
      expect(JSON.stringify(functionResponses(second))).toContain('not found');
    });

    it('asks the named model only, with no routing call, and reports exactly what it was charged', () => {
      expect(run.exitCode).toBe(0);
      expect(run.standIn.requests.map((r) => `${r.model}:${r.action}`)).toEqual([
        'gemini-2.5-flash:streamGenerateContent',
        'gemini-2.5-flash:streamGenerateContent',
      ]);
      expect(outcomeOf(run.events).usage).toMatchObject({ ...chargedUsage(run.standIn), costUsd: null });
      expect(run.events).toContainEqual(expect.objectContaining({ kind: 'session', model: 'gemini-2.5-flash' }));
    });
  });
});
