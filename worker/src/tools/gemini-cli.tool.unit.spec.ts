/*
 * The gemini-cli tool without running a model: its argv and env, the per-attempt settings it
 * writes, and its parser fed with lines the real CLI (0.61.0) printed in a PTY against the
 * Gemini API stand-in (test/gemini-cli.int.spec.ts runs the same thing live).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentUsageSchema, type PromptInput } from '@agentyard/contracts/agent';
import type { AgentEvent } from './agent-stream';
import { GeminiStreamParser, geminiCliArgs, geminiCliTool } from './gemini-cli.tool';
import { ToolInputError } from './tool';

const editRun = [
  'Warning: 256-color support not detected. Using a terminal with at least 256-color support is recommended for a better visual experience.',
  'Ripgrep is not available. Falling back to GrepTool.',
  '{"type":"init","timestamp":"2026-12-05T07:42:54.370Z","session_id":"7ef3ecd6-a2a5-45f1-96b9-6ee53a866479","model":"auto"}',
  '{"type":"message","timestamp":"2026-12-05T07:42:54.373Z","role":"user","content":"Put \\"hello from the stand-in\\" into notes.txt, then say what you did."}',
  '{"type":"message","timestamp":"2026-12-05T07:42:54.475Z","role":"assistant","content":"I will write notes.txt.","delta":true}',
  '{"type":"tool_use","timestamp":"2026-12-05T07:42:54.548Z","tool_name":"write_file","tool_id":"write_file__write_file_1796456574477_0","parameters":{"file_path":"notes.txt","content":"hello from the stand-in\\n"}}',
  '{"type":"tool_result","timestamp":"2026-12-05T07:42:54.665Z","tool_id":"write_file__write_file_1796456574477_0","status":"success"}',
  '{"type":"message","timestamp":"2026-12-05T07:42:54.702Z","role":"assistant","content":"Done: notes.txt now says hello.","delta":true}',
  '{"type":"result","timestamp":"2026-12-05T07:42:54.712Z","status":"success","stats":{"total_tokens":2201,"input_tokens":2170,"output_tokens":31,"cached":1000,"input":1170,"duration_ms":344,"tool_calls":1,"models":{"gemini-3.5-flash-lite":{"total_tokens":73,"input_tokens":70,"output_tokens":3,"cached":0,"input":70},"gemini-3.8-flash":{"total_tokens":2128,"input_tokens":2100,"output_tokens":28,"cached":1000,"input":1100}}}}',
];

const readOnlyRun = [
  'Warning: 256-color support not detected. Using a terminal with at least 256-color support is recommended for a better visual experience.',
  'Ripgrep is not available. Falling back to GrepTool.',
  '{"type":"init","timestamp":"2026-12-05T07:43:03.293Z","session_id":"7d3fcfb5-102b-47bb-9f28-8f3b5e6d3f9c","model":"gemini-2.5-flash"}',
  '{"type":"message","timestamp":"2026-12-05T07:43:03.296Z","role":"user","content":"Put \\"hello from the stand-in\\" into notes.txt, then say what you did."}',
  '{"type":"message","timestamp":"2026-12-05T07:43:03.351Z","role":"assistant","content":"I will write notes.txt.","delta":true}',
  '{"type":"tool_use","timestamp":"2026-12-05T07:43:03.355Z","tool_name":"write_file","tool_id":"write_file__write_file_1796456583353_0","parameters":{"file_path":"notes.txt","content":"hello from the stand-in\\n"}}',
  '{"type":"tool_result","timestamp":"2026-12-05T07:43:03.410Z","tool_id":"write_file__write_file_1796456583353_0","status":"error","output":"Tool \\"write_file\\" not found. Did you mean one of: \\"read_file\\", \\"update_topic\\", \\"grep_search\\"?","error":{"type":"tool_not_registered","message":"Tool \\"write_file\\" not found. Did you mean one of: \\"read_file\\", \\"update_topic\\", \\"grep_search\\"?"}}',
  'Error executing tool write_file: Tool "write_file" not found. Did you mean one of: "read_file", "update_topic", "grep_search"?',
  '{"type":"message","timestamp":"2026-12-05T07:43:03.427Z","role":"assistant","content":"Done: notes.txt now says hello.","delta":true}',
  '{"type":"result","timestamp":"2026-12-05T07:43:03.430Z","status":"success","stats":{"total_tokens":2128,"input_tokens":2100,"output_tokens":28,"cached":1000,"input":1100,"duration_ms":139,"tool_calls":1,"models":{"gemini-2.5-flash":{"total_tokens":2128,"input_tokens":2100,"output_tokens":28,"cached":1000,"input":1100}}}}',
];

const apiErrorRun = [
  '{"type":"init","timestamp":"2026-12-05T07:43:13.873Z","session_id":"6d40bbc0-2e6c-489a-83e7-7bb0c9bd96b6","model":"gemini-2.5-flash"}',
  '{"type":"message","timestamp":"2026-12-05T07:43:13.875Z","role":"user","content":"hi"}',
  '{"type":"result","timestamp":"2026-12-05T07:43:14.101Z","status":"error","error":{"type":"unknown","message":"[API Error: {\\"error\\":{\\"code\\":400,\\"message\\":\\"API key not valid. Please pass a valid API key.\\",\\"status\\":\\"INVALID_ARGUMENT\\"}}]"},"stats":{"total_tokens":0,"input_tokens":0,"output_tokens":0,"cached":0,"input":0,"duration_ms":0,"tool_calls":0,"models":{"gemini-2.5-flash":{"total_tokens":0,"input_tokens":0,"output_tokens":0,"cached":0,"input":0}}}}',
];

/** A thinking model (40 thought tokens per call) stopped by maxSessionTurns: 2 after two tool rounds. */
const turnLimitedRun = [
  '{"type":"init","timestamp":"2026-12-05T07:45:48.283Z","session_id":"18f29227-0570-41d0-bea6-313a40933747","model":"gemini-2.5-flash"}',
  '{"type":"message","timestamp":"2026-12-05T07:45:48.465Z","role":"assistant","content":"looking","delta":true}',
  '{"type":"tool_use","timestamp":"2026-12-05T07:45:48.580Z","tool_name":"list_directory","tool_id":"list_directory__list_directory_1796456748465_0","parameters":{"dir_path":"."}}',
  '{"type":"tool_result","timestamp":"2026-12-05T07:45:48.660Z","tool_id":"list_directory__list_directory_1796456748465_0","status":"success","output":"Directory is empty."}',
  '{"type":"message","timestamp":"2026-12-05T07:45:48.675Z","role":"assistant","content":"looking","delta":true}',
  '{"type":"tool_use","timestamp":"2026-12-05T07:45:48.676Z","tool_name":"list_directory","tool_id":"list_directory__list_directory_1796456748675_0","parameters":{"dir_path":"."}}',
  '{"type":"tool_result","timestamp":"2026-12-05T07:45:48.682Z","tool_id":"list_directory__list_directory_1796456748675_0","status":"success","output":"Directory is empty."}',
  '{"type":"result","timestamp":"2026-12-05T07:46:01.713Z","status":"error","error":{"type":"FatalTurnLimitedError","message":"Reached max session turns for this session. Increase the number of turns by specifying maxSessionTurns in settings.json."},"stats":{"total_tokens":300,"input_tokens":200,"output_tokens":20,"cached":0,"input":200,"duration_ms":0,"tool_calls":2,"models":{"gemini-2.5-flash":{"total_tokens":300,"input_tokens":200,"output_tokens":20,"cached":0,"input":200}}}}',
];

const parse = (lines: string[]): AgentEvent[] => {
  const parser = new GeminiStreamParser();
  return [...lines.flatMap((line) => parser.push(line)), ...parser.end()];
};

const bin = join(__dirname, '..', '..', '..', 'node_modules', '.bin');
const hostEnv = { GEMINI_API_KEY: 'key-1', GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:9', GOOGLE_API_KEY: 'other', SECRET_X: 'must-not-leak', HOME: '/root' };
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function attemptDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gemini-tool-'));
  dirs.push(dir);
  return dir;
}

describe('GeminiStreamParser', () => {
  describe('on an edit run (router side call, write_file, final answer)', () => {
    const events = parse(editRun);

    it('reports the session, the text, the tool call, its result, the file edit and the result, in order', () => {
      expect(events.map((e) => e.kind)).toEqual(['session', 'text', 'tool_call', 'tool_result', 'file_edit', 'text', 'result']);
      expect(events[0]).toEqual({ kind: 'session', sessionId: '7ef3ecd6-a2a5-45f1-96b9-6ee53a866479', model: 'auto' });
      expect(events[2]).toEqual({
        kind: 'tool_call',
        name: 'write_file',
        id: 'write_file__write_file_1796456574477_0',
        input: { file_path: 'notes.txt', content: 'hello from the stand-in\n' },
      });
      expect(events[3]).toEqual({ kind: 'tool_result', id: 'write_file__write_file_1796456574477_0', isError: false });
      expect(events[4]).toEqual({ kind: 'file_edit', path: 'notes.txt', change: 'update' });
    });

    it('sums the usage over both models, router included, with no cost and the final answer as summary', () => {
      expect(events.at(-1)).toEqual({
        kind: 'result',
        summary: 'Done: notes.txt now says hello.',
        isError: false,
        usage: {
          inputTokens: 2170,
          outputTokens: 31,
          cachedInputTokens: 1000,
          costUsd: null,
          models: {
            'gemini-3.5-flash-lite': { inputTokens: 70, outputTokens: 3, costUsd: null },
            'gemini-3.8-flash': { inputTokens: 2100, outputTokens: 28, costUsd: null },
          },
          sessionId: '7ef3ecd6-a2a5-45f1-96b9-6ee53a866479',
          turns: 2,
        },
      });
      const result = events.at(-1) as Extract<AgentEvent, { kind: 'result' }>;
      expect(agentUsageSchema.safeParse(result.usage).success).toBe(true);
    });
  });

  describe('on a read-only run whose model tried to write', () => {
    const events = parse(readOnlyRun);

    it('reports the refused call as a failed tool result and no file edit', () => {
      expect(events).toContainEqual({ kind: 'tool_result', id: 'write_file__write_file_1796456583353_0', isError: true });
      expect(events.some((e) => e.kind === 'file_edit')).toBe(false);
      expect(events.at(-1)).toMatchObject({ kind: 'result', isError: false, summary: 'Done: notes.txt now says hello.', usage: { inputTokens: 2100 } });
    });
  });

  describe('on a run the API refused', () => {
    it('ends with an error result carrying the API message and zero usage', () => {
      const last = parse(apiErrorRun).at(-1);
      expect(last).toMatchObject({ kind: 'result', isError: true, usage: { inputTokens: 0, outputTokens: 0, costUsd: null } });
      expect((last as { summary: string }).summary).toContain('API key not valid');
    });
  });

  describe('on a thinking model stopped by the turn limit', () => {
    const events = parse(turnLimitedRun);

    it('counts the thought tokens as output (the stream has them only in its total)', () => {
      expect(events.at(-1)).toMatchObject({
        kind: 'result',
        usage: { inputTokens: 200, outputTokens: 100, models: { 'gemini-2.5-flash': { inputTokens: 200, outputTokens: 100 } }, turns: 2 },
      });
    });

    it('ends with an error result saying why it stopped', () => {
      expect(events.at(-1)).toMatchObject({ kind: 'result', isError: true, summary: expect.stringContaining('max session turns') });
      expect(events.filter((e) => e.kind === 'file_edit')).toEqual([]);
    });
  });

  it('ignores lines that are not JSON, and everything after the result', () => {
    const parser = new GeminiStreamParser();
    expect(parser.push('Ripgrep is not available. Falling back to GrepTool.')).toEqual([]);
    expect(parser.push(apiErrorRun[2]!)).toHaveLength(1);
    expect(parser.push(editRun[4]!)).toEqual([]);
  });

  it('reports no result when the stream ends without one (killed CLI)', () => {
    expect(parse(editRun.slice(0, 5)).some((e) => e.kind === 'result')).toBe(false);
  });
});

describe('geminiCliTool', () => {
  const tool = geminiCliTool(bin, hostEnv);
  beforeAll(async () => {
    expect(await tool.detect()).toEqual({ version: '0.61.0' });
  });
  const build = (input: PromptInput, workDir = attemptDir()) => tool.buildCommand(input, { workDir, cwd: workDir, hostEnv });

  it('runs headless with the stream format, trusted, read-only by default', () => {
    const command = build({ prompt: 'hi' });
    expect(command.file).toBe(join(bin, 'gemini'));
    expect(command.args).toEqual(['-p', 'hi', '--output-format', 'stream-json', '--skip-trust', '--approval-mode', 'default']);
  });

  it('maps edit to auto_edit and passes the model', () => {
    expect(geminiCliArgs({ prompt: 'hi', permissionMode: 'edit', model: 'gemini-2.5-pro' })).toEqual([
      '-p',
      'hi',
      '--output-format',
      'stream-json',
      '--skip-trust',
      '--approval-mode',
      'auto_edit',
      '-m',
      'gemini-2.5-pro',
    ]);
  });

  it('keeps a prompt that looks like an option from being read as one', () => {
    const args = geminiCliArgs({ prompt: '--yolo' });
    expect(args.slice(0, 2)).toEqual(['-p', ' --yolo']);
    expect(args).not.toContain('--yolo');
  });

  it('refuses resumeSession, which the fresh per-attempt CLI home cannot honour', () => {
    expect(() => build({ prompt: 'hi', resumeSession: '18f29227-0570-41d0-bea6-313a40933747' })).toThrow(/cannot resume/);
  });

  it('forwards only its key and base URL, and points the CLI home into the attempt dir', () => {
    const workDir = attemptDir();
    expect(build({ prompt: 'hi' }, workDir).env).toEqual({
      GEMINI_API_KEY: 'key-1',
      GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:9',
      GEMINI_CLI_HOME: join(workDir, '.agentyard', 'gemini-home'),
      GEMINI_TELEMETRY_ENABLED: 'false',
    });
  });

  it('writes the settings the CLI needs: API-key auth, nothing phoning home, the turn limit', () => {
    const workDir = attemptDir();
    build({ prompt: 'hi', maxTurns: 7 }, workDir);
    const settings = JSON.parse(readFileSync(join(workDir, '.agentyard', 'gemini-home', '.gemini', 'settings.json'), 'utf8'));
    expect(settings).toEqual({
      security: { auth: { selectedType: 'gemini-api-key' } },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      model: { maxSessionTurns: 7 },
    });
  });

  it('refuses to build a command without a key, and is not detected without one', async () => {
    const workDir = attemptDir();
    expect(() => tool.buildCommand({ prompt: 'hi' }, { workDir, cwd: workDir, hostEnv: {} })).toThrow(ToolInputError);
    expect(await geminiCliTool(bin, {}).detect()).toBeNull();
  });

  it('asks an executable outside an npm package for its version', async () => {
    const dir = attemptDir();
    writeFileSync(join(dir, 'gemini'), '#!/bin/sh\necho 9.8.7\n');
    chmodSync(join(dir, 'gemini'), 0o755);
    expect(await geminiCliTool(dir, hostEnv).detect()).toEqual({ version: '9.8.7' });
  });

  it('is not detected where gemini is not installed, and then refuses to build', async () => {
    const absent = geminiCliTool('/nonexistent', hostEnv);
    expect(await absent.detect()).toBeNull();
    expect(() => absent.buildCommand({ prompt: 'hi' }, { workDir: '/tmp', cwd: '/tmp', hostEnv })).toThrow(/not installed/);
  });
});
