/*
 * An agent task through the dashboard in a real browser: the create form's budget reaches the
 * task's input (and the CLI's own cap), the task page shows the live transcript beside the raw
 * terminal, the overview counts its tokens and cost per task and per day, and the workers list
 * flags a worker whose tool turned unhealthy. The `claude` CLI is a stand-in script on the
 * worker's PATH that prints what the real one prints with `--output-format stream-json`, offline;
 * the Anthropic stand-in answers only the worker's credentials check (and refuses keys on cue).
 *
 * Needs the same builds as dashboard.e2e.spec.ts. Screenshots: web/e2e/screenshots/ag-*.png.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startAnthropicStandIn, startPlatform, type AnthropicStandIn, type Platform, type WorkerAgentProcess } from '@agentyard/local-infra';

const webDir = resolve(__dirname, '..');
const repoRoot = resolve(webDir, '..');
const shots = join(webDir, 'e2e', 'screenshots');
const run = Date.now().toString(36);
const stepTimeout = 120_000;
jest.setTimeout(stepTimeout);

/**
 * Stand-in for the Claude Code CLI: `--version`, and for `-p` a stream-json run with a session, a
 * message, a tool call and its result, a file write and a result with usage — one line a second,
 * so the page sees it arrive. The message repeats the cost cap the worker passed, if any.
 */
const fakeClaude = [
  '#!/bin/sh',
  'if [ "$1" = "--version" ]; then echo "2.1.0 (Claude Code)"; exit 0; fi',
  'cap=none',
  'while [ $# -gt 0 ]; do if [ "$1" = "--max-budget-usd" ]; then shift; cap="$1"; fi; shift; done',
  'line() { printf "%s\\n" "$1"; sleep 1; }',
  'line \'{"type":"system","subtype":"init","session_id":"sess-e2e-1","model":"claude-opus-4-8"}\'',
  'line "{\\"type\\":\\"assistant\\",\\"message\\":{\\"id\\":\\"m1\\",\\"model\\":\\"claude-opus-4-8\\",\\"content\\":[{\\"type\\":\\"text\\",\\"text\\":\\"Cost cap from the worker: $cap\\"}],\\"usage\\":{\\"input_tokens\\":1200,\\"output_tokens\\":40}}}"',
  'line \'{"type":"assistant","message":{"id":"m1","model":"claude-opus-4-8","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"npm test"}}]}}\'',
  'line \'{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","is_error":false,"content":"ok"}]}}\'',
  'line \'{"type":"assistant","message":{"id":"m2","model":"claude-opus-4-8","content":[{"type":"tool_use","id":"t2","name":"Write","input":{"file_path":"notes.md","content":"hi"}}]}}\'',
  'line \'{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t2","is_error":false,"content":"written"}]},"tool_use_result":{"type":"create"}}\'',
  'printf "%s\\n" \'{"type":"result","subtype":"success","is_error":false,"result":"Wrote notes.md.","session_id":"sess-e2e-1","num_turns":3,"total_cost_usd":0.0421,"usage":{"input_tokens":12000,"output_tokens":3400}}\'',
  '',
].join('\n');

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

describe('An agent task in the dashboard', () => {
  let platform: Platform;
  let anthropic: AnthropicStandIn;
  let agent: WorkerAgentProcess | undefined;
  let context: BrowserContext;
  let page: Page;
  let browserDir: string;
  let base: string;
  let taskId = '';
  const fakeBin = mkdtempSync('/var/tmp/agentyard-e2e-claude-');
  const workerName = `agent-worker-${run}`;

  beforeAll(async () => {
    for (const needed of ['web/dist/index.html', 'services/gateway/dist/main.js', 'worker/dist/main.js']) {
      if (!existsSync(join(repoRoot, needed))) throw new Error(`${needed} is missing: run \`node infra/scripts/build.mjs\` and \`npm run build:web\` first`);
    }
    mkdirSync(shots, { recursive: true });
    chmodSync(fakeBin, 0o755);
    writeFileSync(join(fakeBin, 'claude'), fakeClaude);
    chmodSync(join(fakeBin, 'claude'), 0o755);
    anthropic = await startAnthropicStandIn(() => ({ content: [{ type: 'text', text: 'unused' }], usage: { input_tokens: 0, output_tokens: 0 } }));
    platform = await startPlatform();
    base = platform.url;
    browserDir = mkdtempSync(join(tmpdir(), 'agentyard-e2e-chromium-'));
    context = await chromium.launchPersistentContext(browserDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      viewport: { width: 1440, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
  }, 180_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await platform?.stop();
    await anthropic?.close();
    rmSync(fakeBin, { recursive: true, force: true });
    if (browserDir) rmSync(browserDir, { recursive: true, force: true });
  }, 120_000);

  it('registers and adds a worker whose claude-code is healthy', async () => {
    await page.goto(`${base}/register`);
    await page.getByLabel('Username', { exact: true }).fill(`agent-${run}`);
    await page.getByLabel('Email').fill(`agent-${run}@example.com`);
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
    await page.getByLabel('Confirm password').fill('correct horse battery');
    await page.getByTestId('register-submit').click();
    await page.waitForURL(`${base}/`);
    await page.getByTestId('nav-workers').click();
    await page.getByTestId('add-worker').first().click();
    await page.getByTestId('create-registration-token').click();
    const token = await page.getByTestId('registration-token').innerText();
    agent = platform.startWorker({
      token,
      name: workerName,
      extraArgs: ['--tool-probe-interval', '2'],
      env: { PATH: `${fakeBin}:${process.env.PATH ?? ''}`, ANTHROPIC_API_KEY: 'sk-e2e', ANTHROPIC_BASE_URL: anthropic.url },
    });
    await page.getByTestId('add-worker-done').click();
    const row = page.locator(`[data-testid="worker-row"][data-worker-name="${workerName}"]`);
    await row
      .locator('[data-testid="worker-status"][data-status="online"]')
      .waitFor({ timeout: 60_000 })
      .catch((e: unknown) => {
        throw new Error(`the worker did not show as online: ${String(e)}\n--- agent output ---\n${agent?.output()}`);
      });
    await row.locator('[data-tool="claude-code"][data-health="healthy"]').waitFor();
    await expect(row.locator('[data-testid="worker-unhealthy"]').count()).resolves.toBe(0);
  });

  it('creates a claude-code task with a budget, and the task’s input holds it', async () => {
    await page.getByTestId('nav-tasks').click();
    await page.getByTestId('new-task').click();
    const dialog = page.getByTestId('create-task-dialog');
    await dialog.getByLabel('Description').fill('Write the notes');
    await dialog.getByTestId('task-tool').click();
    await page.locator('.n-base-select-option', { hasText: 'Claude Code' }).click();
    await dialog.locator('#task-prompt').fill('Write notes.md');
    await dialog.locator('#task-budget-tokens').fill('200000');
    await dialog.locator('#task-budget-cost').fill('2.5');
    await dialog.locator('#task-budget-cost').blur();
    await shot(page, 'ag-01-create-with-budget');
    const created = page.waitForResponse((r) => r.url().endsWith('/api/v1/tasks') && r.request().method() === 'POST');
    await page.getByTestId('create-task-submit').click();
    const res = await created;
    expect(res.status()).toBe(201);
    const body = (await res.json()) as { id: string; input: Record<string, unknown> };
    expect(body.input).toMatchObject({ prompt: 'Write notes.md', budget: { maxTokens: 200_000, maxCostUsd: 2.5 } });
    taskId = body.id;
    await page.waitForURL(`${base}/tasks/${taskId}`);
    await expect(page.getByTestId('budget').innerText()).resolves.toBe('200k tokens · $2.50');
  });

  it('shows the live transcript beside the raw terminal', async () => {
    const split = page.getByTestId('output-split');
    await split.locator('[data-testid="transcript-live"]').waitFor({ timeout: 60_000 });
    await split.locator('[data-testid="transcript"] li[data-kind="tool"]', { hasText: 'npm test' }).waitFor();
    await shot(page, 'ag-02-transcript-live');
    await page.locator('.detail [data-testid="task-status"][data-status="succeeded"]').waitFor({ timeout: 60_000 });
    const transcript = split.getByTestId('transcript');
    await transcript.locator('li[data-kind="result"]', { hasText: 'Wrote notes.md.' }).waitFor();
    // The worker passed the form's cost cap to the CLI's own --max-budget-usd.
    await expect(transcript.innerText()).resolves.toContain('Cost cap from the worker: 2.5');
    const edit = await transcript.locator('li[data-kind="file_edit"]').textContent();
    expect(edit?.replace(/\s+/g, ' ').trim()).toBe('added notes.md');
    // Side by side: the transcript starts level with the terminal, to its right.
    const terminal = await split.locator('[data-testid="terminal"]').boundingBox();
    const panel = await transcript.boundingBox();
    expect(panel && terminal && panel.x > terminal.x + terminal.width - 1).toBe(true);
    await shot(page, 'ag-03-transcript-done');
  });

  it('counts the task’s tokens and cost on the overview, per task and per day', async () => {
    await page.getByTestId('nav-overview').click();
    const perTask = page.locator(`[data-testid="usage-per-task"] tr[data-task-id="${taskId}"]`);
    await perTask.waitFor();
    await expect(perTask.innerText()).resolves.toContain('$0.0421');
    const today = new Date().toISOString().slice(0, 10);
    await expect(page.locator(`[data-testid="usage-per-day"] tr[data-day="${today}"]`).innerText()).resolves.toContain('$0.0421');
    await expect(page.getByTestId('usage-today').innerText()).resolves.toContain('1 task(s)');
    await shot(page, 'ag-04-overview-usage');
  });

  it('flags the worker on the workers list once its claude-code key is refused', async () => {
    anthropic.refuseKeys(true);
    await page.getByTestId('nav-workers').click();
    const row = page.locator(`[data-testid="worker-row"][data-worker-name="${workerName}"]`);
    await row
      .locator('[data-tool="claude-code"][data-health="unhealthy"]')
      .waitFor({ timeout: 60_000 })
      .catch((e: unknown) => {
        throw new Error(`the worker was not flagged: ${String(e)}\n--- agent output ---\n${agent?.output()}`);
      });
    // claude-api uses the same key, so both tools are flagged, with the agent's reason on hover.
    const flag = row.getByTestId('worker-unhealthy');
    await expect(flag.innerText()).resolves.toBe('2 tools unhealthy');
    await expect(flag.getAttribute('title')).resolves.toContain('claude-code (key refused by the Anthropic API (401))');
    await shot(page, 'ag-05-workers-unhealthy');
  });
});
