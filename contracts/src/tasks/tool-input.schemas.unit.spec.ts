import {
  effectiveBudget,
  repoCredentialKind,
  structuredOutputMaxBytes,
  structuredOutputProblem,
  taskResultSchema,
  toolInputSchemas,
} from './tool-input.schemas';

const result = { exitCode: 0, outputTail: '', durationMs: 1 };
const nested = (levels: number): unknown => (levels === 0 ? 1 : [nested(levels - 1)]);

describe('A task result', () => {
  describe('with a structured output', () => {
    it('carries any JSON value up to 64 KiB', () => {
      for (const output of [{ steps: [1, 2] }, [1, 'two'], 'text', 3, null, false]) {
        expect(taskResultSchema.parse({ ...result, output })).toEqual({ ...result, output });
      }
      expect(taskResultSchema.parse(result)).toEqual(result);
      const justFits = 'x'.repeat(structuredOutputMaxBytes - 2); // the quotes make up the rest
      expect(taskResultSchema.safeParse({ ...result, output: justFits }).success).toBe(true);
    });

    it('refuses one larger than 64 KiB, counting UTF-8 bytes of its JSON, and says by how much', () => {
      expect(structuredOutputProblem('x'.repeat(structuredOutputMaxBytes - 1))).toBe('65 KiB, more than the 64 KiB allowed');
      expect(structuredOutputProblem('é'.repeat(40 * 1024))).toBe('81 KiB, more than the 64 KiB allowed');
      const parsed = taskResultSchema.safeParse({ ...result, output: { big: 'x'.repeat(80 * 1024) } });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]).toMatchObject({ path: ['output'], message: 'structured output: 81 KiB, more than the 64 KiB allowed' });
    });

    it('refuses one nested deeper than 64 levels (Postgres and JSON.stringify overflow on a few thousand), without overflowing itself', () => {
      expect(structuredOutputProblem(nested(64))).toBeUndefined();
      expect(structuredOutputProblem(nested(65))).toBe('nested deeper than the 64 levels allowed');
      const deep = JSON.parse('['.repeat(30_000) + ']'.repeat(30_000)) as unknown;
      expect(structuredOutputProblem(deep)).toBe('nested deeper than the 64 levels allowed');
      expect(taskResultSchema.safeParse({ ...result, output: { a: deep } }).success).toBe(false);
    });
  });
});

describe('A cost cap (maxCostUsd)', () => {
  it('is taken by claude-code, which enforces it, as a positive number of dollars', () => {
    expect(toolInputSchemas['claude-code'].parse({ prompt: 'p', maxCostUsd: 0.5 })).toEqual({ prompt: 'p', maxCostUsd: 0.5 });
    for (const bad of [0, -1, 10_001, '1']) expect(toolInputSchemas['claude-code'].safeParse({ prompt: 'p', maxCostUsd: bad }).success).toBe(false);
  });

  it('is refused by every tool that could not enforce it, naming the key', () => {
    for (const tool of ['gemini-cli', 'codex', 'ollama', 'claude-api', 'gemini-api', 'openai-compatible'] as const) {
      const parsed = toolInputSchemas[tool].safeParse({ prompt: 'p', maxCostUsd: 1 });
      expect(parsed.success).toBe(false);
      expect(JSON.stringify(parsed.error?.issues)).toContain('maxCostUsd');
    }
  });
});

describe('A workspace', () => {
  const withRef = (ref: string) => toolInputSchemas.shell.safeParse({ command: 'x', workspace: { repo: '/srv/repo', ref } }).success;
  const withRepo = (repo: string) => toolInputSchemas.shell.safeParse({ command: 'x', workspace: { repo } }).success;

  it('takes a repository as a URL or an absolute path, with a branch, tag or commit as its base', () => {
    for (const repo of ['/srv/repo', 'https://git.example.com/a/b.git', 'git@github.com:a/b.git', 'ssh://git@h/r']) expect(withRepo(repo)).toBe(true);
    for (const ref of ['main', 'v1.2', 'agentyard/3f0c-1', 'HEAD', 'feature/x_y', '0123abcd']) expect(withRef(ref)).toBe(true);
    expect(toolInputSchemas['claude-code'].parse({ prompt: 'p', workspace: { repo: '/r', ref: 'main', push: true } })).toEqual({
      prompt: 'p',
      workspace: { repo: '/r', ref: 'main', push: true },
    });
  });

  it('refuses a ref that is an option, a range or not a ref, and a repository git would run or read as a path relative to the worker', () => {
    for (const ref of ['-x', '--upload-pack=sh', 'a..b', 'a//b', 'x.lock', '/a', 'a/', 'a@{1}', 'a b', '']) expect(withRef(ref)).toBe(false);
    for (const repo of ['-u', 'rel/dir', 'ext::sh -c id', 'file:///etc', '', 'fd::3']) expect(withRepo(repo)).toBe(false);
    expect(toolInputSchemas.shell.safeParse({ command: 'x', workspace: { repo: '/r', extra: 1 } }).success).toBe(false);
  });
});

describe('A workspace’s credentials', () => {
  const parse = (repo: string, credentials: unknown) => toolInputSchemas.shell.safeParse({ command: 'x', workspace: { repo, credentials } });
  const messages = (repo: string, credentials: unknown): string[] => parse(repo, credentials).error?.issues.map((i) => i.message) ?? [];

  it('name a secret, with a token for https (and plain http to localhost only) and a deploy key for ssh', () => {
    expect(parse('https://git.example.com/a/b.git', { secret: 'gh' }).success).toBe(true);
    expect(parse('https://git.example.com/a/b.git', { secret: 'gh', kind: 'token', username: 'oauth2' }).success).toBe(true);
    expect(parse('http://127.0.0.1:8080/a.git', { secret: 'gh' }).success).toBe(true);
    expect(parse('http://localhost/a.git', { secret: 'gh' }).success).toBe(true);
    expect(parse('git@github.com:a/b.git', { secret: 'deploy' }).success).toBe(true);
    expect(parse('ssh://git@h:2222/r.git', { secret: 'deploy', kind: 'ssh-key' }).success).toBe(true);
    expect(repoCredentialKind('https://h/r', undefined)).toBe('token');
    expect(repoCredentialKind('git@h:r', undefined)).toBe('ssh-key');
    expect(repoCredentialKind('/srv/r', 'token')).toBeUndefined();
  });

  it('are refused where they would go elsewhere or in clear, naming the field', () => {
    expect(messages('/srv/repo', { secret: 'gh' })).toEqual(['workspace.credentials need a git URL, not a local path']);
    expect(messages('http://git.example.com/a.git', { secret: 'gh' })).toEqual(['a token is sent over https only (plain http:// only to localhost)']);
    expect(messages('http://localhost.evil.com/a.git', { secret: 'gh' })).toEqual(['a token is sent over https only (plain http:// only to localhost)']);
    expect(messages('git@github.com:a/b.git', { secret: 'gh', kind: 'token' })).toEqual(['a token credential needs an https:// repository URL']);
    expect(messages('https://h/r.git', { secret: 'k', kind: 'ssh-key' })).toEqual(['an ssh-key credential needs an ssh:// or git@host: repository URL']);
    expect(messages('https://h/r.git', { secret: 'k', kind: 'password' })).toEqual(['workspace.credentials.kind must be token or ssh-key']);
    expect(messages('https://h/r.git', { secret: 'k', username: 'a b' })).toEqual(['workspace.credentials.username is letters, digits and . _ @ + -']);
    expect(parse('https://h/r.git', { secret: 'k', value: 'inline-token' }).success).toBe(false);
    expect(parse('https://h/r.git', 'inline-token').success).toBe(false);
  });
});

describe('A task’s budget', () => {
  it('is taken by every prompt tool, and folds claude-code’s maxCostUsd in (the lower cap wins)', () => {
    for (const tool of ['claude-code', 'gemini-cli', 'codex', 'ollama', 'claude-api', 'gemini-api', 'openai-compatible'] as const) {
      expect(toolInputSchemas[tool].safeParse({ prompt: 'p', budget: { maxTokens: 1000, maxCostUsd: 0.5 } }).success).toBe(true);
    }
    expect(effectiveBudget({ budget: { maxTokens: 10, maxCostUsd: 2 }, maxCostUsd: 1 })).toEqual({ maxTokens: 10, maxCostUsd: 1 });
    expect(effectiveBudget({})).toBeUndefined();
  });

  it('refuses a cap that is not a positive number, naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ maxTokens: 0 }, 'budget.maxTokens must be more than 0'],
      [{ maxTokens: -5 }, 'budget.maxTokens must be more than 0'],
      [{ maxTokens: 1.5 }, 'budget.maxTokens must be a whole number of tokens'],
      [{ maxTokens: '100' }, 'budget.maxTokens must be a number of tokens'],
      [{ maxCostUsd: 0 }, 'budget.maxCostUsd must be more than 0'],
      [{ maxCostUsd: 'a lot' }, 'budget.maxCostUsd must be a number of US dollars'],
      [5, 'budget must be an object'],
    ];
    for (const [budget, message] of cases) {
      const parsed = toolInputSchemas.codex.safeParse({ prompt: 'p', budget });
      expect(parsed.success).toBe(false);
      expect(JSON.stringify(parsed.error?.issues)).toContain(message);
    }
  });
});
