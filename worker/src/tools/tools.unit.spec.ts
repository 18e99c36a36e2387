import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiTool, claudeApiSpec, geminiApiSpec, ollamaApiTool, openaiCompatibleTool } from './api-tool';
import { chatStreamParser } from './chat-stream';
import { claudeCodeTool } from './claude-code.tool';
import { geminiCliTool } from './gemini-cli.tool';
import { findExecutable, parseVersion } from './executable-lookup';
import { shellTool } from './shell.tool';
import { ToolInputError, type ToolContext } from './tool';
import { allTools, detectTools } from './tool-registry';

// A real directory: an agent CLI makes its own home in the attempt dir (claude-code's CLAUDE_CONFIG_DIR).
const workDir = mkdtempSync(join(tmpdir(), 'tools-unit-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
const ctx = (hostEnv: NodeJS.ProcessEnv = {}): ToolContext => ({ workDir, cwd: workDir, hostEnv });

describe('tools', () => {
  let bin: string;
  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), 'ayw-bin-'));
    writeFileSync(join(bin, 'claude'), '#!/bin/sh\necho "2.0.14 (Claude Code)"\n');
    chmodSync(join(bin, 'claude'), 0o755);
    writeFileSync(join(bin, 'gemini'), 'not executable');
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  describe('shell', () => {
    it('is always there and runs /bin/sh -c', async () => {
      const tool = shellTool();
      await expect(tool.detect()).resolves.toEqual({ version: null });
      expect(tool.buildCommand({ command: 'echo hi' }, ctx())).toEqual({ file: '/bin/sh', args: ['-c', 'echo hi'], env: {} });
    });
  });

  describe('CLI tools', () => {
    it('are detected on PATH with their version, and absent otherwise', async () => {
      const detected = await detectTools(allTools({ PATH: bin, ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' }));
      // Nothing listens on port 9: claude-code is present but its API unreachable, so unhealthy.
      expect(detected.list).toEqual([
        { name: 'shell', version: null, health: 'healthy', auth: 'ok' },
        { name: 'claude-code', version: '2.0.14', health: 'unhealthy', auth: 'unknown', detail: 'the Anthropic API is unreachable (ECONNREFUSED)' },
        { name: 'noop', version: 'builtin', health: 'healthy', auth: 'ok' },
      ]);
      expect(detected.available.has('claude-code')).toBe(true);
      expect(findExecutable('gemini', bin)).toBeUndefined();
    });

    it('build `claude -p <prompt> --output-format stream-json` and forward only the auth variables', async () => {
      const tool = claudeCodeTool(bin, { ANTHROPIC_API_KEY: 'k' });
      await tool.detect();
      const command = tool.buildCommand({ prompt: '-rf everything', model: 'opus' }, ctx({ ANTHROPIC_API_KEY: 'k', SECRET_X: 's' }));
      expect(command.file).toBe(join(bin, 'claude'));
      expect(command.args.slice(0, 2)).toEqual(['-p', ' -rf everything']);
      expect(command.env).toEqual({
        ANTHROPIC_API_KEY: 'k',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        CLAUDE_CONFIG_DIR: join(workDir, '.agentyard', 'claude-home'),
      });
    });

    it('refuse to build when the CLI is missing or the prompt is too large for one argument', async () => {
      const missing = geminiCliTool(bin, { GEMINI_API_KEY: 'k' });
      await missing.detect();
      expect(() => missing.buildCommand({ prompt: 'hi' }, ctx())).toThrow(ToolInputError);
      const claude = claudeCodeTool(bin, { ANTHROPIC_API_KEY: 'k' });
      await claude.detect();
      expect(() => claude.buildCommand({ prompt: 'x'.repeat(200 * 1024) }, ctx())).toThrow('limited to');
    });
  });

  describe('API tools', () => {
    it('are enabled only when their API key is set', async () => {
      await expect(apiTool(claudeApiSpec, {}).detect()).resolves.toBeNull();
      await expect(apiTool(claudeApiSpec, { ANTHROPIC_API_KEY: 'k' }).detect()).resolves.toEqual({ version: 'api' });
      await expect(apiTool(geminiApiSpec, { GOOGLE_API_KEY: 'k' }).detect()).resolves.toEqual({ version: 'api' });
    });

    it('run the API script with the key and prompt in its environment', () => {
      const command = apiTool(claudeApiSpec, {}).buildCommand({ prompt: 'hello', model: 'm' }, ctx({ ANTHROPIC_API_KEY: 'k', SECRET_X: 's' }));
      expect(command.file).toBe(process.execPath);
      expect(command.args[1]).toBe('anthropic');
      expect(command.env).toEqual({ ANTHROPIC_API_KEY: 'k', AGENTYARD_PROMPT: 'hello', AGENTYARD_MODEL: 'm' });
    });

    it('stream their answers through the chat parser', () => {
      for (const tool of [apiTool(claudeApiSpec, {}), apiTool(geminiApiSpec, {}), openaiCompatibleTool({}), ollamaApiTool({})])
        expect(tool.streamParser).toBe(chatStreamParser);
    });

    it('enable openai-compatible by its base URL and ollama by OLLAMA_HOST or its binary on PATH', async () => {
      await expect(openaiCompatibleTool({}).detect()).resolves.toBeNull();
      await expect(openaiCompatibleTool({ OPENAI_COMPATIBLE_BASE_URL: 'http://local:8000' }).detect()).resolves.toEqual({ version: 'api' });
      await expect(ollamaApiTool({ PATH: bin }).detect()).resolves.toBeNull();
      await expect(ollamaApiTool({ OLLAMA_HOST: '127.0.0.1:11434' }).detect()).resolves.toEqual({ version: 'api' });
      writeFileSync(join(bin, 'ollama'), '#!/bin/sh\n');
      chmodSync(join(bin, 'ollama'), 0o755);
      try {
        await expect(ollamaApiTool({ PATH: bin }).detect()).resolves.toEqual({ version: 'api' });
      } finally {
        rmSync(join(bin, 'ollama'));
      }
    });

    it('refuse openai-compatible and ollama inputs without a model', () => {
      expect(() => ollamaApiTool({}).buildCommand({ prompt: 'hi' }, ctx({ OLLAMA_HOST: 'h' }))).toThrow('needs a model');
      expect(ollamaApiTool({}).buildCommand({ prompt: 'hi' }, ctx({ OLLAMA_HOST: 'h', OLLAMA_MODEL: 'qwen' })).env).toEqual({
        OLLAMA_HOST: 'h',
        OLLAMA_MODEL: 'qwen',
        AGENTYARD_PROMPT: 'hi',
      });
      expect(() => openaiCompatibleTool({}).buildCommand({ prompt: 'hi' }, ctx({ OPENAI_COMPATIBLE_BASE_URL: 'u' }))).toThrow('needs a model');
    });
  });

  describe('parseVersion', () => {
    it.each([
      ['2.0.14 (Claude Code)', '2.0.14'],
      ['ollama version is 0.5.7', '0.5.7'],
      ['v1.2.3-beta.1\nmore', '1.2.3-beta.1'],
      ['no digits here', 'no digits here'],
      ['', null],
    ])('reads %j as %j', (text, version) => {
      expect(parseVersion(text)).toBe(version);
    });
  });
});
