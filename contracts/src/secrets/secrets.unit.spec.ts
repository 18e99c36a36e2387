import {
  createSecretBodySchema,
  createTaskBodySchema,
  fieldsReferencing,
  maxSecretRefsPerTask,
  secretRefsOf,
  shellInputSchema,
  taskSpecSchema,
  updateSecretBodySchema,
} from '../index';

const issues = (result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }): string[] =>
  result.success ? [] : result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('A task env value', () => {
  it('is a string or a reference to a secret by name', () => {
    expect(shellInputSchema.safeParse({ command: 'x', env: { A: 'plain', B: { secret: 'github_token' }, C: { secret: 'npm.registry-1' } } }).success).toBe(
      true,
    );
  });

  it.each([
    [{ A: 5 }, 'env.A: an env value is a string or {"secret": "<name>"}'],
    [{ A: { secret: 'gh', extra: 1 } }, 'env.A: an env value is a string or {"secret": "<name>"}'],
    [{ A: { secret: 'bad name' } }, 'env.A.secret: a secret name is a letter or _, then up to 63 letters, digits and _.- (e.g. github_token)'],
    [{ A: { secret: '9lives' } }, 'env.A.secret: a secret name is a letter or _, then up to 63 letters, digits and _.- (e.g. github_token)'],
  ])('refuses %j, saying what it may be', (env, message) => {
    expect(issues(shellInputSchema.safeParse({ command: 'x', env }))).toEqual([message]);
  });

  it(`may reference at most ${maxSecretRefsPerTask} distinct secrets`, () => {
    const env = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, { secret: `s${i}` }]));
    expect(shellInputSchema.safeParse({ command: 'x', env: env(maxSecretRefsPerTask) }).success).toBe(true);
    expect(issues(shellInputSchema.safeParse({ command: 'x', env: env(maxSecretRefsPerTask + 1) }))).toEqual([
      `env: a task may reference at most ${maxSecretRefsPerTask} secrets`,
    ]);
  });

  it(`counts the repository credential toward the ${maxSecretRefsPerTask}, in a task body and a workflow step alike`, () => {
    const env = Object.fromEntries(Array.from({ length: maxSecretRefsPerTask }, (_, i) => [`V${i}`, { secret: `s${i}` }]));
    const workspace = (secret: string) => ({ repo: 'https://git.example.com/r.git', credentials: { secret } });
    const body = (secret: string) => ({ description: 'd', tool: 'shell', input: { command: 'x', env, workspace: workspace(secret) } });
    expect(issues(createTaskBodySchema.safeParse(body('repo_token')))).toEqual([
      `input.workspace.credentials: a task may reference at most ${maxSecretRefsPerTask} secrets, env and workspace.credentials together`,
    ]);
    // The same secret in env and as the credential is one reference.
    expect(createTaskBodySchema.safeParse(body('s0')).success).toBe(true);
    const step = { tool: 'codex', input: { prompt: 'p', env, workspace: workspace('repo_token') } };
    expect(issues(taskSpecSchema.safeParse(step))).toEqual([expect.stringMatching(/^input\.workspace\.credentials: a task may reference at most/)]);
  });

  it('is checked in a task body for prompt tools too', () => {
    const body = { description: 'd', tool: 'claude-code', input: { prompt: 'p', env: { KEY: { secret: 'anthropic' }, BAD: { secret: '' } } } };
    expect(issues(createTaskBodySchema.safeParse(body))).toEqual([expect.stringMatching(/^input\.env\.BAD\.secret: a secret name/)]);
  });
});

describe('secretRefsOf', () => {
  it('lists the distinct names an input references, sorted', () => {
    expect(secretRefsOf({ command: 'x', env: { A: { secret: 'b' }, B: 'plain', C: { secret: 'a' }, D: { secret: 'b' } } })).toEqual(['a', 'b']);
  });

  it('includes the secret a workspace’s credentials name, and says which fields reference a name', () => {
    const input = { command: 'x', env: { A: { secret: 'gh' } }, workspace: { repo: 'https://h/r.git', credentials: { secret: 'repo' } } };
    expect(secretRefsOf(input)).toEqual(['gh', 'repo']);
    expect(secretRefsOf({ ...input, workspace: { ...input.workspace, credentials: { secret: 'gh' } } })).toEqual(['gh']);
    expect(fieldsReferencing(input, 'repo')).toEqual(['workspace.credentials']);
    expect(fieldsReferencing({ ...input, workspace: { ...input.workspace, credentials: { secret: 'gh' } } }, 'gh')).toEqual(['env.A', 'workspace.credentials']);
  });

  it('is empty for inputs without env or without references', () => {
    expect(secretRefsOf({})).toEqual([]);
    expect(secretRefsOf({ env: { A: 'x' } })).toEqual([]);
    expect(secretRefsOf(null)).toEqual([]);
  });
});

describe('A secret body', () => {
  it('takes a name and a value', () => {
    expect(createSecretBodySchema.parse({ name: '_Deploy.key-2', value: 'multi\nline ✓' })).toEqual({ name: '_Deploy.key-2', value: 'multi\nline ✓' });
  });

  it('bounds the value in UTF-8 bytes, refuses NUL bytes, and never echoes the value', () => {
    const big = 'é'.repeat(16 * 1024 + 1); // 32 KiB + 2 bytes
    const tooBig = issues(updateSecretBodySchema.safeParse({ value: big }));
    expect(tooBig).toEqual(['value: value must be at most 32 KiB']);
    expect(updateSecretBodySchema.safeParse({ value: 'é'.repeat(16 * 1024) }).success).toBe(true);
    expect(issues(updateSecretBodySchema.safeParse({ value: 'top\u0000secret' }))).toEqual([
      'value: must not contain NUL characters (\\u0000) or unpaired UTF-16 surrogates',
    ]);
    expect(JSON.stringify(updateSecretBodySchema.safeParse({ value: 'top\u0000secret' }))).not.toContain('top');
  });
});
