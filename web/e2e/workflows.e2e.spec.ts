/*
 * The Workflows page in a real browser against the real platform (as dashboard.e2e.spec.ts: Debian's
 * Chromium driven by playwright-core, every service from its build, a real worker agent). A person
 * builds a four-node graph in the editor by dragging palette items onto the canvas and handles onto
 * handles, sees a typed condition refused at its character, saves, runs it and watches the nodes
 * turn green live; then creates the built-in "Three agents, pick the best" Mixture with its shell
 * defaults, runs it, and compares the candidates. Screenshots: web/e2e/screenshots/wf-*.png.
 *
 * Needs: `node infra/scripts/build.mjs` and `npm run build:web`.
 * Run: npx jest --testMatch '**\/web/e2e/**\/*.e2e.spec.ts' web/e2e/workflows.e2e.spec.ts
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { startPlatform, type Platform, type WorkerAgentProcess } from '@agentyard/local-infra';

const webDir = resolve(__dirname, '..');
const repoRoot = resolve(webDir, '..');
const shots = join(webDir, 'e2e', 'screenshots');
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
const desktop = { width: 1440, height: 900 };
const run = Date.now().toString(36);

jest.setTimeout(150_000);

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `wf-${name}.png`), fullPage: true });
}

/** The centre of an element, in page coordinates. */
async function centre(locator: Locator): Promise<{ x: number; y: number }> {
  const box = await locator.boundingBox();
  if (!box) throw new Error('element has no box (not visible)');
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Drags from one handle to another with the mouse, as a person connects two nodes in vue-flow. */
async function dragHandle(page: Page, from: Locator, to: Locator): Promise<void> {
  const a = await centre(from);
  const b = await centre(to);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 8 });
  await page.mouse.move(b.x, b.y, { steps: 8 });
  await page.mouse.up();
}

/** Reads until the value is `expected` (or fails with the last value read). */
async function until<T>(read: () => Promise<T>, expected: T, timeout = 10_000): Promise<void> {
  const end = Date.now() + timeout;
  let last: T = await read();
  while (last !== expected) {
    if (Date.now() > end) throw new Error(`expected ${String(expected)}, still ${String(last)} after ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
}

const node = (page: Page, id: string) => page.locator(`[data-testid="wf-node"][data-node-id="${id}"]`);
const statusesOf = (page: Page) =>
  page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[data-testid="wf-node"]')].map((n) => [n.getAttribute('data-node-id'), n.className])));

describe('Workflows in Chromium against the real platform', () => {
  let platform: Platform;
  let context: BrowserContext;
  let page: Page;
  let dir: string;
  let agent: WorkerAgentProcess | undefined;
  let base: string;
  const workerName = `wf-worker-${run}`;

  beforeAll(async () => {
    for (const needed of ['web/dist/index.html', 'services/gateway/dist/main.js', 'services/workflows/dist/main.js', 'worker/dist/main.js']) {
      if (!existsSync(join(repoRoot, needed))) throw new Error(`${needed} is missing: run \`node infra/scripts/build.mjs\` and \`npm run build:web\` first`);
    }
    mkdirSync(shots, { recursive: true });
    for (const f of readdirSync(shots)) if (f.startsWith('wf-')) rmSync(join(shots, f), { force: true });
    platform = await startPlatform();
    base = platform.url;
    dir = mkdtempSync(join(tmpdir(), 'agentyard-e2e-chromium-'));
    context = await chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', headless: true, args: chromiumArgs, viewport: desktop });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
  }, 180_000);

  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    await context?.close().catch(() => undefined);
    await platform?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('registers and brings a worker online', async () => {
    await page.goto(`${base}/register`);
    await page.getByLabel('Username', { exact: true }).fill(`wf-${run}`);
    await page.getByLabel('Email').fill(`wf-${run}@example.com`);
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
    await page.getByLabel('Confirm password').fill('correct horse battery');
    await page.getByTestId('register-submit').click();
    await page.waitForURL(`${base}/`);
    await page.getByTestId('nav-workers').click();
    await page.getByTestId('add-worker').first().click();
    await page.getByTestId('create-registration-token').click();
    const token = (await page.getByTestId('registration-token').innerText()).trim();
    agent = platform.startWorker({ token, name: workerName });
    await page.getByTestId('add-worker-done').click();
    await page
      .locator(`[data-testid="worker-row"][data-worker-name="${workerName}"] [data-testid="worker-status"][data-status="online"]`)
      .waitFor({ timeout: 60_000 })
      .catch((e: unknown) => {
        throw new Error(`the worker did not come online: ${String(e)}\n${agent?.output()}`);
      });
  });

  it('builds a four-node graph by drag and drop, checks a condition as typed, and saves it', async () => {
    // The nav link sits between Tasks and Workers.
    const nav = await page.locator('nav [data-testid^="nav-"]').evaluateAll((links) => links.map((l) => l.getAttribute('data-testid')));
    expect(nav.indexOf('nav-workflows')).toBe(nav.indexOf('nav-tasks') + 1);
    expect(nav.indexOf('nav-workers')).toBe(nav.indexOf('nav-workflows') + 1);
    await page.getByTestId('nav-workflows').click();
    await page.getByTestId('new-workflow').first().click();
    await page.getByTestId('blank-workflow').click();
    await page.waitForURL(`${base}/workflows/new`);
    const canvas = page.getByTestId('editor-canvas');
    await canvas.waitFor();
    await shot(page, '01-editor-empty');

    // Palette → canvas: three tasks and a gate, dropped where a diamond goes.
    const box = (await canvas.boundingBox())!;
    const drops: [string, number, number][] = [
      ['task', 0.5, 0.15],
      ['task', 0.25, 0.45],
      ['task', 0.75, 0.45],
      ['gate', 0.5, 0.78],
    ];
    for (const [type, fx, fy] of drops) {
      await page.getByTestId(`palette-${type}`).dragTo(canvas, { targetPosition: { x: box.width * fx, y: box.height * fy } });
    }
    await expect(page.locator('[data-testid="wf-node"]').count()).resolves.toBe(4);
    for (const id of ['task1', 'task2', 'task3', 'gate1']) await node(page, id).waitFor();
    // Each dropped card sits where it was dropped: task1 above the others, gate1 below.
    const y = async (id: string) => (await node(page, id).boundingBox())!.y;
    expect(await y('task1')).toBeLessThan(await y('task2'));
    expect(await y('gate1')).toBeGreaterThan(await y('task3'));

    // Handle → handle: the diamond's four edges.
    const out = (id: string) => node(page, id).locator('.vue-flow__handle.source');
    const into = (id: string) => node(page, id).locator('.vue-flow__handle.target');
    for (const [a, b] of [
      ['task1', 'task2'],
      ['task1', 'task3'],
      ['task2', 'gate1'],
      ['task3', 'gate1'],
    ]) {
      const before = await page.locator('.vue-flow__edge').count();
      await dragHandle(page, out(a), into(b));
      await until(() => page.locator('.vue-flow__edge').count(), before + 1);
    }

    // The first node's task, through its form (the same tool picker as the create-task form).
    await node(page, 'task1').click();
    const form = page.getByTestId('node-form');
    await form.getByLabel('Command').fill('echo planning; sleep 3; echo planned');
    await form.getByLabel('Label').fill('Plan');
    await node(page, 'task1').getByText('Plan', { exact: true }).waitFor();

    // An edge's condition is parsed as it is typed; the error names the character and a caret marks it.
    await page.locator('.vue-flow__edge').first().click({ force: true });
    const condition = page.getByTestId('edge-condition').locator('input');
    await condition.fill('nodes.task1.exitCode == ');
    await expect(page.getByTestId('condition-error').innerText()).resolves.toMatch(/at character \d+/);
    await page.getByTestId('condition-caret').waitFor();
    await shot(page, '02-editor-condition-error');
    await condition.fill('nodes.task1.exitCode == 0');
    await page.getByTestId('condition-error').waitFor({ state: 'detached' });

    // The server's check (debounced) agrees: the graph is valid.
    await page.locator('[data-testid="check-status"]', { hasText: 'Valid' }).waitFor();
    await page.locator('.vue-flow__pane').click({ position: { x: 10, y: 10 } });
    await page.getByTestId('workflow-form').getByLabel('Name').fill(`Diamond ${run}`);
    await shot(page, '03-editor-graph');
    await page.getByTestId('save-workflow').click();
    await page.waitForURL(/\/workflows\/[0-9a-f-]{36}\/edit$/);
    await page.locator('[data-testid="check-status"]', { hasText: 'Valid' }).waitFor();
    await shot(page, '04-editor-saved');
  });

  it('runs it and shows the nodes turn green live, without a reload', async () => {
    await page.getByRole('link', { name: '← Workflow' }).click();
    await page.getByTestId('workflow-name').waitFor();
    await page.getByTestId('run-workflow').click();
    await page.getByTestId('execute-submit').click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    await page.getByTestId('run-graph').waitFor();
    const navigations = await page.evaluate(() => performance.getEntriesByType('navigation').length);

    // While the first node runs (it sleeps 3 s), the gate has not started: statuses differ.
    await node(page, 'task1').and(page.locator('.status-running')).waitFor({ timeout: 60_000 });
    const early = await statusesOf(page);
    expect(early.gate1).toContain('status-pending');
    await shot(page, '05-run-live');

    // Then every node turns green, pushed by run events on the WebSocket.
    for (const id of ['task1', 'task2', 'task3', 'gate1']) await node(page, id).and(page.locator('.status-succeeded')).waitFor({ timeout: 90_000 });
    await page.locator('[data-testid="run-view"][data-run-status="succeeded"]').waitFor({ timeout: 30_000 });
    const late = await statusesOf(page);
    expect(Object.values(late).every((c) => c?.includes('status-succeeded'))).toBe(true);
    expect(early.task1).not.toEqual(late.task1);
    expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(navigations);

    // A node's panel: its text, and its task with the task page's live terminal.
    await node(page, 'task1').click();
    const panel = page.getByTestId('run-node-panel');
    await expect(panel.getByTestId('panel-text').innerText()).resolves.toContain('planned');
    await panel.getByTestId('node-task-link').waitFor();
    await panel.locator('[data-testid="task-status"][data-status="succeeded"]').waitFor();
    await page.getByTestId('run-timeline').locator('svg').first().waitFor();
    await shot(page, '06-run-succeeded');
  });

  it('creates the built-in Mixture from its template, runs it, and compares the candidates', async () => {
    await page.getByTestId('nav-workflows').click();
    await page.getByTestId('new-workflow').first().click();
    await page.locator('[data-testid="template-choice"][data-template-id="builtin-best-of-three"]').click();
    await shot(page, '07-template-parameters');
    await page.getByTestId('instantiate-submit').click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    await page.locator('[data-testid="run-view"][data-run-status="succeeded"]').waitFor({ timeout: 90_000 });
    const comparison = page.getByTestId('comparison');
    await expect(comparison.locator('[data-testid="candidate"]').count()).resolves.toBe(3);
    // "shortest" picks the shortest successful answer: agent1's.
    const chosen = comparison.locator('[data-testid="candidate"][data-chosen="true"]');
    await expect(chosen.getAttribute('data-candidate')).resolves.toBe('agent1');
    await expect(chosen.getByTestId('candidate-text').innerText()).resolves.toContain('a short answer');
    await chosen.getByTestId('chosen-badge').waitFor();
    await expect(comparison.locator('[data-candidate="agent3"] [data-testid="candidate-text"]').innerText()).resolves.toContain('the longest answer');
    await node(page, 'pick').and(page.locator('.status-succeeded')).waitFor();
    await comparison.scrollIntoViewIfNeeded();
    await shot(page, '08-mixture-comparison');
  });

  it('lists both workflows with their last runs', async () => {
    await page.getByTestId('nav-workflows').click();
    const rows = page.locator('[data-testid="workflow-row"]');
    await until(() => rows.count(), 2);
    await until(() => page.locator('[data-testid="workflow-row"] [data-testid="run-status"][data-status="succeeded"]').count(), 2);
    await shot(page, '09-workflows-list');
    // A kind other than graph opens read-only as its compiled graph, with "Edit as graph".
    await page.locator('[data-testid="workflow-row"]', { hasText: 'Three agents' }).getByRole('link', { name: 'Graph' }).click();
    await page.getByTestId('edit-as-graph').waitFor();
    await expect(page.locator('[data-testid="wf-node"]').count()).resolves.toBe(4);
    await shot(page, '10-mixture-as-graph');
  });
});
