import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { agentUsageSchema } from '@agentyard/contracts/agent';
import { outcomeOf, type AgentEvent } from './agent-stream';
import { claudeCodeArgs, claudeCodeStreamParser, claudeCodeTool } from './claude-code.tool';
import { ToolInputError, type ToolContext } from './tool';

/*
 * Lines captured from the real CLI (2.1.197) through a PTY, against the stand-in API of
 * test/claude-code.int.spec.ts: a subagent call on haiku, a Write, a final text. The stand-in's
 * usage figures: opus 60+12 cache writes / 6, 100+7 cache reads / 20, 130 / 9; haiku 50+3 cache reads / 5.
 */
/** The edit run, every line as the PTY gave it (the last one is the terminal reset the CLI prints on exit). */
const editRun = [
  '{"type":"system","subtype":"init","cwd":"/tmp/claude-code-int-hWTrDU/edit","session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8","tools":["Task","Bash","CronCreate","CronDelete","CronList","Edit","EnterWorktree","ExitWorktree","NotebookEdit","Read","ReportFindings","ScheduleWakeup","SendMessage","Skill","TaskCreate","TaskGet","TaskList","TaskOutput","TaskStop","TaskUpdate","WebFetch","WebSearch","Workflow","Write"],"mcp_servers":[],"model":"claude-opus-4-8[1m]","permissionMode":"acceptEdits","slash_commands":["deep-research","update-config","verify","debug","code-review","simplify","batch","fewer-permission-prompts","loop","claude-api","run","run-skill-generator","clear","compact","config","context","heapdump","init","reload-skills","review","security-review","usage","insights","goal","team-onboarding"],"apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"2.1.197","output_style":"default","agents":["claude","Explore","general-purpose","Plan","statusline-setup"],"skills":["deep-research","update-config","verify","debug","code-review","simplify","batch","fewer-permission-prompts","loop","claude-api","run","run-skill-generator"],"plugins":[],"analytics_disabled":true,"product_feedback_disabled":true,"uuid":"cc445bfb-ba9a-472c-9286-3ee327a6dbf2","memory_paths":{"auto":"/tmp/claude-code-int-hWTrDU/edit-home/.claude/projects/-tmp-claude-code-int-hWTrDU-edit/memory/"},"fast_mode_state":"off"}',
  '{"type":"assistant","message":{"id":"msg_standin_0001","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"tool_use","id":"toolu_agent_1","name":"Agent","input":{"description":"look around","prompt":"SUBTASK: list nothing, just say done","subagent_type":"general-purpose","model":"haiku"}}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_read_input_tokens":0,"cache_creation_input_tokens":12,"input_tokens":60,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8","uuid":"206eba79-5911-40e7-9c40-756780e7adc2","request_id":"req_standin_1"}',
  '{"type":"system","subtype":"task_started","task_id":"a1024f7c3b07bf75a","tool_use_id":"toolu_agent_1","description":"look around","subagent_type":"general-purpose","task_type":"local_agent","prompt":"SUBTASK: list nothing, just say done","uuid":"6ffd9649-0524-441c-a7d8-009dfe26e254","session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8"}',
  '{"type":"user","message":{"role":"user","content":[{"type":"text","text":"SUBTASK: list nothing, just say done"}]},"parent_tool_use_id":"toolu_agent_1","session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8","uuid":"462d00f9-f12a-4730-92af-fa06e8fec9bd","timestamp":"2026-12-05T07:42:37.713Z","subagent_type":"general-purpose","task_description":"look around"}',
  '{"type":"system","subtype":"task_updated","task_id":"a1024f7c3b07bf75a","patch":{"status":"completed","end_time":1796456557776},"uuid":"b6bdadf0-5642-47b1-a4c8-82f15b138d7f","session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8"}',
  '{"type":"system","subtype":"task_notification","task_id":"a1024f7c3b07bf75a","tool_use_id":"toolu_agent_1","status":"completed","output_file":"","summary":"look around","usage":{"total_tokens":54,"tool_uses":0,"duration_ms":62},"uuid":"85fbe3a1-a842-43c4-89d9-a85b1d31d8db","session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8"}',
  '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_agent_1","type":"tool_result","content":[{"type":"text","text":"subagent done"},{"type":"text","text":"agentId: a1024f7c3b07bf75a (use SendMessage with to: \'a1024f7c3b07bf75a\', summary: \'<5-10 word recap>\' to continue this agent)\\n<usage>subagent_tokens: 58\\ntool_uses: 0\\nduration_ms: 64</usage>"}]}]},"parent_tool_use_id":null,"session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8","uuid":"5a099088-2a92-4cdc-8d41-a33a57a27077","timestamp":"2026-12-05T07:42:37.779Z","tool_use_result":{"status":"completed","prompt":"SUBTASK: list nothing, just say done","agentId":"a1024f7c3b07bf75a","agentType":"general-purpose","content":[{"type":"text","text":"subagent done"}],"resolvedModel":"claude-haiku-4-5-20251001","totalDurationMs":64,"totalTokens":58,"totalToolUseCount":0,"usage":{"input_tokens":50,"cache_creation_input_tokens":0,"cache_read_input_tokens":3,"output_tokens":5,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard"}}}',
  '{"type":"assistant","message":{"id":"msg_standin_0003","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"text","text":"I will write the file now."}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_read_input_tokens":7,"cache_creation_input_tokens":0,"input_tokens":100,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8","uuid":"7798a2b6-a28c-4e31-aca7-5ea88580adf4","request_id":"req_standin_3"}',
  '{"type":"assistant","message":{"id":"msg_standin_0003","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"tool_use","id":"toolu_write_1","name":"Write","input":{"file_path":"/tmp/claude-code-int-hWTrDU/edit/hello.txt","content":"hello from the stand-in\\nsecond line\\n"}}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_read_input_tokens":7,"cache_creation_input_tokens":0,"input_tokens":100,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8","uuid":"41ff0a28-92e8-4b1a-84ab-0f1c758c3635","request_id":"req_standin_3"}',
  '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_write_1","type":"tool_result","content":"File created successfully at: /tmp/claude-code-int-hWTrDU/edit/hello.txt (file state is current in your context — no need to Read it back)"}]},"parent_tool_use_id":null,"session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8","uuid":"6a021059-286a-4074-a30b-b8f50b2e3992","timestamp":"2026-12-05T07:42:37.848Z","tool_use_result":{"type":"create","filePath":"/tmp/claude-code-int-hWTrDU/edit/hello.txt","content":"hello from the stand-in\\nsecond line\\n","structuredPatch":[],"originalFile":null,"userModified":false}}',
  '{"type":"assistant","message":{"id":"msg_standin_0004","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"text","text":"Wrote hello.txt as asked."}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_read_input_tokens":0,"cache_creation_input_tokens":0,"input_tokens":130,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8","uuid":"8c417f08-27af-4e19-bf61-d7a89a05f7b0","request_id":"req_standin_4"}',
  '{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"duration_ms":510,"duration_api_ms":196,"ttft_ms":324,"ttft_stream_ms":317,"time_to_request_ms":273,"num_turns":3,"result":"Wrote hello.txt as asked.","stop_reason":"end_turn","session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8","total_cost_usd":0.0024788,"usage":{"input_tokens":290,"cache_creation_input_tokens":12,"cache_read_input_tokens":7,"output_tokens":35,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard"},"modelUsage":{"claude-opus-4-8[1m]":{"inputTokens":290,"outputTokens":35,"cacheReadInputTokens":7,"cacheCreationInputTokens":12,"webSearchRequests":0,"costUSD":0.0024035000000000003,"contextWindow":1000000,"maxOutputTokens":64000},"claude-haiku-4-5-20251001":{"inputTokens":50,"outputTokens":5,"cacheReadInputTokens":3,"cacheCreationInputTokens":0,"webSearchRequests":0,"costUSD":0.0000753,"contextWindow":200000,"maxOutputTokens":32000}},"permission_denials":[],"terminal_reason":"completed","fast_mode_state":"off","uuid":"cdbcd936-2136-41e0-903d-2a6abfb25671"}',
  '\u001b[?1006l\u001b[?1003l\u001b[?1002l\u001b[?1000l\u001b(B\u000f\u001b[>4m\u001b[<u\u001b[?1004l\u001b[?2031l\u001b[?2004l\u001b[?25h\u001b7\u001b[r\u001b8\u001b]0;\u0007\u001b[?25h',
];

/** From the read-only run: the Write call and its denial. */
const readOnlyDenial = [
  '{"type":"assistant","message":{"id":"msg_standin_0003","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"tool_use","id":"toolu_write_1","name":"Write","input":{"file_path":"/tmp/claude-code-int-hWTrDU/read-only/hello.txt","content":"must not appear\\n"}}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_read_input_tokens":7,"cache_creation_input_tokens":0,"input_tokens":100,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"ca784c0f-dceb-4b4d-a041-5b1ac40b0de0","uuid":"37499145-72e6-46f8-b631-42029f0f090a","request_id":"req_standin_3"}',
  '{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"Claude requested permissions to write to /tmp/claude-code-int-hWTrDU/read-only/hello.txt, but you haven\'t granted it yet.","is_error":true,"tool_use_id":"toolu_write_1"}]},"parent_tool_use_id":null,"session_id":"ca784c0f-dceb-4b4d-a041-5b1ac40b0de0","uuid":"ef13c678-2d35-4686-9a04-4e5560df4800","timestamp":"2026-12-05T07:42:44.115Z","tool_use_result":"Error: Claude requested permissions to write to /tmp/claude-code-int-hWTrDU/read-only/hello.txt, but you haven\'t granted it yet."}',
];

/** The result line of a run stopped by --max-turns 2. */
const maxTurnsResult = [
  '{"type":"result","subtype":"error_max_turns","duration_ms":426,"duration_api_ms":150,"is_error":true,"num_turns":3,"stop_reason":"tool_use","session_id":"ced516fb-6bd2-4880-8256-c5d657b4b221","total_cost_usd":0.0006000000000000001,"usage":{"input_tokens":80,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":8,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard"},"modelUsage":{"claude-opus-4-8[1m]":{"inputTokens":80,"outputTokens":8,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"webSearchRequests":0,"costUSD":0.0006000000000000001,"contextWindow":1000000,"maxOutputTokens":64000}},"permission_denials":[],"terminal_reason":"max_turns","fast_mode_state":"off","uuid":"3e397cc5-9f0c-4b3d-98a5-304440d50708","errors":["Reached maximum number of turns (2)"]}',
];

const sessionId = '30410da0-ce53-4950-a8e3-0d7a1f62ecf8';
const workDir = '/tmp/claude-code-int-hWTrDU/edit';

function parse(lines: readonly string[]): AgentEvent[] {
  const parser = claudeCodeStreamParser();
  // Running usage (the budget's figure) has tests of its own.
  return [...lines.flatMap((line) => parser.push(line)), ...parser.end()].filter((e) => e.kind !== 'usage');
}

describe('claudeCodeStreamParser', () => {
  describe('on a run that edits a file', () => {
    const events = parse(editRun);

    it('reports the session and model from the init line first', () => {
      expect(events[0]).toEqual({ kind: 'session', sessionId, model: 'claude-opus-4-8[1m]' });
    });

    it('gives the text, the tool calls and their results in order, and the file the Write created', () => {
      expect(events.slice(1, -1)).toEqual([
        {
          kind: 'tool_call',
          name: 'Agent',
          id: 'toolu_agent_1',
          input: { description: 'look around', prompt: 'SUBTASK: list nothing, just say done', subagent_type: 'general-purpose', model: 'haiku' },
        },
        { kind: 'tool_result', id: 'toolu_agent_1', isError: false },
        { kind: 'text', text: 'I will write the file now.' },
        {
          kind: 'tool_call',
          name: 'Write',
          id: 'toolu_write_1',
          input: { file_path: `${workDir}/hello.txt`, content: 'hello from the stand-in\nsecond line\n' },
        },
        { kind: 'tool_result', id: 'toolu_write_1', isError: false },
        { kind: 'file_edit', path: `${workDir}/hello.txt`, change: 'add' },
        { kind: 'text', text: 'Wrote hello.txt as asked.' },
      ]);
    });

    it("ends with the result: usage summed over both models (the subagent's calls too), the CLI's cost, turns", () => {
      expect(events.at(-1)).toEqual({
        kind: 'result',
        summary: 'Wrote hello.txt as asked.',
        isError: false,
        usage: {
          // opus 60+12+100+130 and haiku 50: cache writes count as input, cache reads beside it.
          inputTokens: 352,
          outputTokens: 40,
          cachedInputTokens: 10,
          costUsd: 0.0024788,
          sessionId,
          turns: 3,
          models: {
            'claude-opus-4-8[1m]': { inputTokens: 302, outputTokens: 35, costUsd: 0.0024035000000000003 },
            'claude-haiku-4-5-20251001': { inputTokens: 50, outputTokens: 5, costUsd: 0.0000753 },
          },
        },
      });
    });

    it("is more than the result line's own usage, which leaves the subagent out", () => {
      const resultLine = JSON.parse(editRun.find((l) => l.includes('"type":"result"'))!) as { usage: { input_tokens: number } };
      expect(resultLine.usage.input_tokens).toBe(290);
      expect(outcomeOf(events).usage?.inputTokens).toBe(352);
    });

    it('gives a usage the agent keeps (it drops one that fails agentUsageSchema)', () => {
      expect(agentUsageSchema.safeParse(outcomeOf(events).usage).success).toBe(true);
    });
  });

  it('reports a denied write as a failed tool result and no file edit', () => {
    expect(parse(readOnlyDenial)).toEqual([
      {
        kind: 'tool_call',
        name: 'Write',
        id: 'toolu_write_1',
        input: { file_path: '/tmp/claude-code-int-hWTrDU/read-only/hello.txt', content: 'must not appear\n' },
      },
      { kind: 'tool_result', id: 'toolu_write_1', isError: true },
    ]);
  });

  it('reports a run stopped by --max-turns as an error result at the max_turns limit, its reason as the summary, with its usage', () => {
    expect(parse(maxTurnsResult)).toEqual([
      {
        kind: 'result',
        summary: 'error_max_turns: Reached maximum number of turns (2)',
        isError: true,
        limit: 'max_turns',
        usage: {
          inputTokens: 80,
          outputTokens: 8,
          cachedInputTokens: 0,
          costUsd: 0.0006000000000000001,
          sessionId: 'ced516fb-6bd2-4880-8256-c5d657b4b221',
          turns: 3,
          models: { 'claude-opus-4-8[1m]': { inputTokens: 80, outputTokens: 8, costUsd: 0.0006000000000000001 } },
        },
      },
    ]);
  });

  it('reports a --resume of a session its config dir does not have as an error result with zero usage', () => {
    const line =
      '{"type":"result","subtype":"error_during_execution","duration_ms":0,"duration_api_ms":0,"is_error":true,"num_turns":0,"stop_reason":null,"session_id":"30410da0-ce53-4950-a8e3-0d7a1f62ecf8","total_cost_usd":0,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard"},"modelUsage":{},"permission_denials":[],"uuid":"a3641991-57ab-41be-bcc3-c119e488f851","errors":["No conversation found with session ID: 30410da0-ce53-4950-a8e3-0d7a1f62ecf8"]}';
    expect(parse([line])).toEqual([
      {
        kind: 'result',
        summary: 'error_during_execution: No conversation found with session ID: 30410da0-ce53-4950-a8e3-0d7a1f62ecf8',
        isError: true,
        usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, sessionId: '30410da0-ce53-4950-a8e3-0d7a1f62ecf8', turns: 0 },
      },
    ]);
  });

  it('falls back to the main loop usage, and a null cost, when the result has neither modelUsage nor a cost', () => {
    const line = JSON.stringify({
      type: 'result',
      subtype: 'success',
      is_error: false,
      result: 'ok',
      session_id: 's-1',
      num_turns: 1,
      usage: { input_tokens: 10, cache_creation_input_tokens: 2, cache_read_input_tokens: 4, output_tokens: 3 },
    });
    expect(parse([line])).toEqual([
      {
        kind: 'result',
        summary: 'ok',
        isError: false,
        usage: { inputTokens: 12, outputTokens: 3, cachedInputTokens: 4, costUsd: null, sessionId: 's-1', turns: 1 },
      },
    ]);
  });

  it('ignores lines that are not its JSON: warnings, the terminal reset, unknown types', () => {
    expect(parse(['warning: something', '', editRun.at(-1)!, '{"type":"stream_event","event":{}}', '{"type":"system","subtype":"task_updated"}'])).toEqual([]);
  });
});

describe('claudeCodeTool', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'claude-code-unit-'));
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));
  const ctx: ToolContext = {
    workDir,
    cwd: workDir,
    hostEnv: { ANTHROPIC_API_KEY: 'sk-a', ANTHROPIC_AUTH_TOKEN: 'tok', ANTHROPIC_BASE_URL: 'http://127.0.0.1:1', AWS_SECRET_ACCESS_KEY: 'no', HOME: '/root' },
  };

  describe('argv', () => {
    it('is headless with the stream format, and says read-only explicitly (a project setting cannot widen it)', () => {
      expect(claudeCodeArgs({ prompt: 'hi', permissionMode: 'read-only' })).toEqual([
        '-p',
        'hi',
        '--output-format',
        'stream-json',
        '--verbose',
        '--permission-mode',
        'default',
      ]);
      expect(claudeCodeArgs({ prompt: 'hi' })).toEqual(claudeCodeArgs({ prompt: 'hi', permissionMode: 'read-only' }));
    });

    it('maps edit to acceptEdits, and passes model, max turns, the cost cap and the session to resume', () => {
      expect(
        claudeCodeArgs({ prompt: 'hi', permissionMode: 'edit', model: 'claude-sonnet-4-6', maxTurns: 7, maxCostUsd: 1.5, resumeSession: 'abc-123' }),
      ).toEqual([
        '-p',
        'hi',
        '--output-format',
        'stream-json',
        '--verbose',
        '--model',
        'claude-sonnet-4-6',
        '--max-turns',
        '7',
        '--max-budget-usd',
        '1.5',
        '--resume',
        'abc-123',
        '--permission-mode',
        'acceptEdits',
      ]);
    });

    it('never skips permissions, and keeps a prompt that starts with a dash from being read as an option', () => {
      const args = claudeCodeArgs({ prompt: '--dangerously-skip-permissions', permissionMode: 'edit' });
      expect(args[1]).toBe(' --dangerously-skip-permissions');
      expect(args.filter((a) => a.startsWith('--dangerously'))).toEqual([]);
    });
  });

  describe('detect and buildCommand', () => {
    const binDir = resolve(__dirname, '../../../node_modules/.bin');

    it('finds the CLI and its version when a key or endpoint is configured, and not otherwise', async () => {
      expect(await claudeCodeTool(binDir, { ANTHROPIC_API_KEY: 'sk-a' }).detect()).toEqual({ version: '2.1.197' });
      expect(await claudeCodeTool(binDir, { ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' }).detect()).toEqual({ version: '2.1.197' });
      expect(await claudeCodeTool(binDir, { OPENAI_API_KEY: 'sk-o' }).detect()).toBeNull();
      expect(await claudeCodeTool('/nonexistent', { ANTHROPIC_API_KEY: 'sk-a' }).detect()).toBeNull();
    });

    it('forwards only the key and endpoint variables, plus the switch that keeps it off non-essential traffic and the attempt’s own config dir', async () => {
      const tool = claudeCodeTool(binDir, { ANTHROPIC_API_KEY: 'sk-a' });
      expect(() => tool.buildCommand({ prompt: 'hi' }, ctx)).toThrow(ToolInputError);
      await tool.detect();
      const command = tool.buildCommand({ prompt: 'hi', permissionMode: 'edit' }, ctx);
      expect(command.file).toBe(join(binDir, 'claude'));
      expect(command.args).toEqual(claudeCodeArgs({ prompt: 'hi', permissionMode: 'edit' }));
      expect(command.env).toEqual({
        ANTHROPIC_API_KEY: 'sk-a',
        ANTHROPIC_AUTH_TOKEN: 'tok',
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        CLAUDE_CONFIG_DIR: join(workDir, '.agentyard', 'claude-home'),
      });
      expect(statSync(command.env.CLAUDE_CONFIG_DIR!).mode & 0o777).toBe(0o700);
    });

    it('refuses a prompt too large for one argument', async () => {
      const tool = claudeCodeTool(binDir, { ANTHROPIC_API_KEY: 'sk-a' });
      await tool.detect();
      expect(() => tool.buildCommand({ prompt: 'x'.repeat(200 * 1024) }, ctx)).toThrow(ToolInputError);
    });

    it('gives a fresh parser per attempt', () => {
      const tool = claudeCodeTool(binDir);
      const first = tool.streamParser!();
      first.push(readOnlyDenial[0]!);
      // The second attempt knows nothing of the first one's pending Write.
      expect(tool.streamParser!().push(readOnlyDenial[1]!.replace('"is_error":true,', ''))).toEqual([
        { kind: 'tool_result', id: 'toolu_write_1', isError: false },
      ]);
    });
  });
});

describe('claude-code running usage', () => {
  const assistant = (id: string, input: number, output: number, model = 'claude-sonnet-4-5') =>
    JSON.stringify({
      type: 'assistant',
      message: {
        id,
        model,
        content: [{ type: 'text', text: 'x' }],
        usage: { input_tokens: input, output_tokens: output, cache_creation_input_tokens: 2, cache_read_input_tokens: 5 },
      },
    });

  it('sums each call’s latest usage over the calls, per model, without cost', () => {
    const parser = claudeCodeStreamParser();
    const usages = [assistant('m1', 100, 1), assistant('m1', 100, 20), assistant('m2', 130, 9, 'claude-haiku')]
      .flatMap((line) => parser.push(line))
      .filter((e) => e.kind === 'usage');
    expect(usages).toHaveLength(3);
    expect(usages[2]).toEqual({
      kind: 'usage',
      usage: {
        inputTokens: 102 + 132,
        outputTokens: 29,
        cachedInputTokens: 10,
        costUsd: null,
        models: {
          'claude-sonnet-4-5': { inputTokens: 102, outputTokens: 20, cachedInputTokens: 5 },
          'claude-haiku': { inputTokens: 132, outputTokens: 9, cachedInputTokens: 5 },
        },
      },
    });
  });

  it('keeps the running usage as the attempt’s when the run was stopped before its result', () => {
    const parser = claudeCodeStreamParser();
    const events = [assistant('m1', 100, 20)].flatMap((line) => parser.push(line));
    expect(outcomeOf(events).usage).toMatchObject({ inputTokens: 102, outputTokens: 20, costUsd: null });
  });

  it('passes budget.maxCostUsd (the lower of it and maxCostUsd) as --max-budget-usd', () => {
    const args = claudeCodeArgs({ prompt: 'p', maxCostUsd: 2, budget: { maxCostUsd: 0.5 } });
    expect(args[args.indexOf('--max-budget-usd') + 1]).toBe('0.5');
  });
});
