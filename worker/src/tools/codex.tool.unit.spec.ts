import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outcomeOf, type AgentEvent } from './agent-stream';
import { codexArgs, codexStreamParser, codexTool, providerToml } from './codex.tool';
import { ToolInputError } from './tool';

/*
 * Lines printed by the real codex 0.171.0 (`exec --json`) against the Responses API stand-in
 * (services/libs/local-infra/src/stand-ins/openai-responses.stand-in.ts), pasted unchanged.
 */
const editRun = [
  '{"type":"thread.started","thread_id":"01a24527-9791-78e2-8653-98eabc3426d7"}',
  '{"type":"turn.started"}',
  '{"type":"item.started","item":{"id":"item_0","type":"file_change","changes":[{"path":"/var/tmp/w3/hello.txt","kind":"add"}],"status":"in_progress"}}',
  '{"type":"item.completed","item":{"id":"item_0","type":"file_change","changes":[{"path":"/var/tmp/w3/hello.txt","kind":"add"}],"status":"completed"}}',
  '{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Done: created hello.txt"}}',
  '{"type":"turn.completed","usage":{"input_tokens":201,"cached_input_tokens":20,"cache_write_input_tokens":0,"output_tokens":41,"reasoning_output_tokens":6}}',
];
/** Read-only: the write is refused before codex reports a file_change; only the message shows. */
const readOnlyRun = [
  '{"type":"thread.started","thread_id":"01a2452a-083e-7132-8c7d-9efd00545a85"}',
  '{"type":"turn.started"}',
  '{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"Done: created hello.txt"}}',
  '{"type":"turn.completed","usage":{"input_tokens":201,"cached_input_tokens":20,"cache_write_input_tokens":0,"output_tokens":41,"reasoning_output_tokens":6}}',
];
/** Inside a bubblewrap sandbox codex's own sandbox fails: the edit is announced, then "failed". */
const failedEditRun = [
  '{"type":"thread.started","thread_id":"01a24526-7dc2-7e91-a673-d88a6a928938"}',
  '{"type":"item.completed","item":{"id":"item_0","type":"error","message":"`[features].use_legacy_landlock` is deprecated and will be removed soon. (Remove this setting to stop opting into the legacy Linux sandbox behavior.)"}}',
  '{"type":"turn.started"}',
  '{"type":"item.started","item":{"id":"item_1","type":"file_change","changes":[{"path":"/tmp/exp/work/hello.txt","kind":"add"}],"status":"in_progress"}}',
  '{"type":"item.completed","item":{"id":"item_1","type":"file_change","changes":[{"path":"/tmp/exp/work/hello.txt","kind":"add"}],"status":"failed"}}',
  '{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"Done: created hello.txt"}}',
  '{"type":"turn.completed","usage":{"input_tokens":201,"cached_input_tokens":20,"cache_write_input_tokens":0,"output_tokens":41,"reasoning_output_tokens":6}}',
];
const commandRun = [
  '{"type":"thread.started","thread_id":"01a2452a-1920-7721-afad-3ad96794ff3c"}',
  '{"type":"turn.started"}',
  '{"type":"item.started","item":{"id":"item_0","type":"command_execution","command":"/bin/bash -lc ls","aggregated_output":"","exit_code":null,"status":"in_progress"}}',
  '{"type":"item.completed","item":{"id":"item_0","type":"command_execution","command":"/bin/bash -lc ls","aggregated_output":"bwrap: execvp codex-linux-sandbox: No such file or directory\\n","exit_code":1,"status":"failed"}}',
  '{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Listed."}}',
  '{"type":"turn.completed","usage":{"input_tokens":201,"cached_input_tokens":20,"cache_write_input_tokens":0,"output_tokens":41,"reasoning_output_tokens":6}}',
];

function parse(lines: string[]): AgentEvent[] {
  const parser = codexStreamParser();
  // Running usage (the budget's figure) has tests of its own.
  return [...lines.flatMap((line) => parser.push(line)), ...parser.end()].filter((e) => e.kind !== 'usage');
}

describe('codexStreamParser', () => {
  describe('for a run that edited a file', () => {
    const events = parse(editRun);

    it('reports the session, the edit as a call, its result and the file, then the text', () => {
      expect(events.slice(0, -1)).toEqual([
        { kind: 'session', sessionId: '01a24527-9791-78e2-8653-98eabc3426d7' },
        { kind: 'tool_call', name: 'apply_patch', id: 'item_0', input: { changes: [{ path: '/var/tmp/w3/hello.txt', kind: 'add' }] } },
        { kind: 'tool_result', id: 'item_0', isError: false },
        { kind: 'file_edit', path: '/var/tmp/w3/hello.txt', change: 'add' },
        { kind: 'text', text: 'Done: created hello.txt' },
      ]);
    });

    it('ends with the final message and the turn usage, cost null since codex reports none', () => {
      expect(events.at(-1)).toEqual({
        kind: 'result',
        summary: 'Done: created hello.txt',
        isError: false,
        usage: { inputTokens: 201, cachedInputTokens: 20, outputTokens: 41, costUsd: null, turns: 1, sessionId: '01a24527-9791-78e2-8653-98eabc3426d7' },
      });
    });
  });

  it('reports no edit for a read-only run', () => {
    const events = parse(readOnlyRun);
    expect(events.map((e) => e.kind)).toEqual(['session', 'text', 'result']);
  });

  it('reports a failed edit as a failed tool result and no file edit; codex warnings are not failures', () => {
    const events = parse(failedEditRun);
    expect(events).toContainEqual({ kind: 'tool_result', id: 'item_1', isError: true });
    expect(events.some((e) => e.kind === 'file_edit')).toBe(false);
    expect(events.at(-1)).toMatchObject({ kind: 'result', isError: false });
  });

  it('reports a command as a call and its non-zero exit as an error result', () => {
    const events = parse(commandRun);
    expect(events).toContainEqual({ kind: 'tool_call', name: 'command_execution', id: 'item_0', input: { command: '/bin/bash -lc ls' } });
    expect(events).toContainEqual({ kind: 'tool_result', id: 'item_0', isError: true });
  });

  it('sums the usage of every turn', () => {
    const usage = outcomeOf(parse([...editRun, editRun[5]!])).usage;
    expect(usage).toMatchObject({ inputTokens: 402, cachedInputTokens: 40, outputTokens: 82, turns: 2 });
  });

  it('marks a run that never completed a turn, or failed one, as an error', () => {
    expect(parse(editRun.slice(0, 3)).at(-1)).toMatchObject({ kind: 'result', isError: true, usage: { inputTokens: 0, turns: 0 } });
    const failed = parse([editRun[0]!, '{"type":"turn.failed","error":{"message":"stream disconnected"}}']);
    expect(failed.at(-1)).toMatchObject({ kind: 'result', isError: true, summary: 'stream disconnected' });
  });

  it('ignores lines that are not codex events and reports nothing for output without any', () => {
    expect(parse(['Reading additional input from stdin...', 'WARNING: proceeding', '{"not":"an event"}'])).toEqual([]);
  });
});

describe('codexArgs', () => {
  const hostEnv = { OPENAI_BASE_URL: 'http://127.0.0.1:4000/', OPENAI_API_KEY: 'sk-x' };

  it('runs exec --json read-only by default, with the offline flags and the prompt last', () => {
    expect(codexArgs({ prompt: 'hi' }, { hostEnv: {} })).toEqual([
      'exec',
      '--json',
      '--skip-git-repo-check',
      '-c',
      'sandbox_mode="read-only"',
      '--disable',
      'plugins',
      '--disable',
      'remote_plugin',
      '-c',
      'analytics.enabled=false',
      '-c',
      'check_for_update_on_startup=false',
      'hi',
    ]);
  });

  it('maps edit to workspace-write and passes the model', () => {
    const args = codexArgs({ prompt: 'hi', permissionMode: 'edit', model: 'gpt-5.1-codex' }, { hostEnv: {} });
    expect(args).toContain('sandbox_mode="workspace-write"');
    expect(args.slice(-3)).toEqual(['-m', 'gpt-5.1-codex', 'hi']);
  });

  it('inside the agent’s bubblewrap edits without sandboxing again (codex’s sandbox cannot start there); read-only stays read-only', () => {
    expect(codexArgs({ prompt: 'hi', permissionMode: 'edit' }, { hostEnv: {}, sandboxed: true })).toContain('sandbox_mode="danger-full-access"');
    expect(codexArgs({ prompt: 'hi' }, { hostEnv: {}, sandboxed: true })).toContain('sandbox_mode="read-only"');
  });

  it('declares a custom provider only when the worker has a base URL', () => {
    expect(codexArgs({ prompt: 'hi' }, { hostEnv: { OPENAI_API_KEY: 'k' } }).join(' ')).not.toContain('model_provider');
    const args = codexArgs({ prompt: 'hi' }, { hostEnv });
    expect(args).toContain('model_provider=agentyard');
    expect(args).toContain(
      'model_providers.agentyard={name="agentyard",base_url="http://127.0.0.1:4000/v1",env_key="OPENAI_API_KEY",wire_api="responses",supports_websockets=false}',
    );
    expect(providerToml('https://proxy.example/v1')).toContain('base_url="https://proxy.example/v1"');
  });

  it('resumes a session with exec resume <id> before the prompt; maxTurns is ignored', () => {
    const args = codexArgs({ prompt: '-start', resumeSession: '01a24527-9791', maxTurns: 3 }, { hostEnv: {} });
    expect(args.slice(0, 2)).toEqual(['exec', 'resume']);
    expect(args.slice(-2)).toEqual(['01a24527-9791', ' -start']);
    expect(args.join(' ')).not.toContain('3');
  });
});

describe('codexTool', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ayw-codex-'));
    writeFileSync(join(dir, 'codex'), '#!/bin/sh\necho "codex-cli 0.171.0"\n');
    chmodSync(join(dir, 'codex'), 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to build a command before it was detected', () => {
    expect(() => codexTool(dir).buildCommand({ prompt: 'hi' }, { workDir: dir, cwd: dir, hostEnv: {} })).toThrow(ToolInputError);
  });

  it('is not offered without a key or base URL on the worker', async () => {
    await expect(codexTool(dir, {}).detect()).resolves.toBeNull();
  });

  it('forwards only its key variables and a fresh CODEX_HOME in the attempt dir', async () => {
    const tool = codexTool(dir, { OPENAI_API_KEY: 'sk-x' });
    await expect(tool.detect()).resolves.toMatchObject({ version: '0.171.0' });
    const hostEnv = { OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'http://127.0.0.1:1', AWS_SECRET_ACCESS_KEY: 'no', HOME: '/root' };
    const command = tool.buildCommand({ prompt: 'hi', permissionMode: 'edit' }, { workDir: dir, cwd: dir, hostEnv });
    const codexHome = join(dir, '.agentyard', 'codex-home');
    expect(command).toMatchObject({ file: join(dir, 'codex'), env: { OPENAI_API_KEY: 'sk-x', CODEX_HOME: codexHome } });
    expect(Object.keys(command.env).sort()).toEqual(['CODEX_HOME', 'OPENAI_API_KEY']);
    expect(existsSync(codexHome) && statSync(codexHome).mode & 0o777).toBe(0o700);
  });

  it('refuses a prompt too large for one argument', async () => {
    const tool = codexTool(dir, { OPENAI_API_KEY: 'sk-x' });
    await tool.detect();
    expect(() => tool.buildCommand({ prompt: 'x'.repeat(200 * 1024) }, { workDir: dir, cwd: dir, hostEnv: {} })).toThrow(ToolInputError);
  });
});
