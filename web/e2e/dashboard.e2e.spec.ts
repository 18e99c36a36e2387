/*
 * The dashboard in a real browser against the real platform: Debian's Chromium driven by
 * playwright-core, every service started from its build by startPlatform(), and a real worker
 * agent started with the token the "Add worker" dialog shows. Each screen is saved to
 * web/e2e/screenshots/ (git-ignored) for a person to look at.
 *
 * Needs: `node infra/scripts/build.mjs` (services, worker) and `npm run build:web` (web/dist,
 * served by the gateway at /). Run: npx jest --testMatch '**\/web/e2e/**\/*.e2e.spec.ts' web/e2e
 *
 * The steps share one browser session and run in order; a step that fails makes the rest fail
 * fast rather than hang.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { platformServices, startPlatform, type Platform, type WorkerAgentProcess } from '@agentyard/local-infra';

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
const desktop = { width: 1280, height: 800 };
const phone = { width: 390, height: 844 };
const stepTimeout = 120_000;
const run = Date.now().toString(36);
/** Whether each service still runs and the end of what it printed (warnings and errors), for a failure's message. */
let platformTail: () => string = () => '';
/** What Chromium reported blocking under the gateway's Content-Security-Policy, on any page. */
const cspViolations: string[] = [];

jest.setTimeout(stepTimeout);

async function openBrowser(): Promise<{ context: BrowserContext; page: Page; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'agentyard-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
    viewport: desktop,
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to (load|apply|execute|connect|frame)/i.test(msg.text())) cspViolations.push(`${page.url()}: ${msg.text()}`);
  });
  return { context, page, dir };
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => undefined);
  // A full-page capture of a scrolled page draws the sticky header mid-page.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function register(page: Page, baseUrl: string, username: string, password: string, screenshot?: string): Promise<void> {
  await page.goto(`${baseUrl}/register`);
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Email').fill(`${username}@example.com`);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Confirm password').fill(password);
  if (screenshot) await shot(page, screenshot);
  await page.getByTestId('register-submit').click();
  await page.waitForURL(`${baseUrl}/`);
}

async function createTask(page: Page, description: string, command: string): Promise<string> {
  await page.getByTestId('nav-tasks').click();
  await page.getByTestId('new-task').click();
  const dialog = page.getByTestId('create-task-dialog');
  await dialog.getByLabel('Description').fill(description);
  // The tool picker offers the online worker's tools and preselects shell.
  await dialog.getByLabel('Command').fill(command);
  await dialog.getByTestId('create-task-submit').click();
  await page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/).catch(async (e: unknown) => {
    // Say what the page showed instead: an error in the dialog, a field's feedback, or no dialog at all.
    const shown = await dialog.innerText({ timeout: 1_000 }).catch(() => '(no dialog)');
    await page.screenshot({ path: join(shots, `failed-create-task-${Date.now()}.png`), fullPage: true }).catch(() => undefined);
    throw new Error(
      `creating the task "${description}" did not open its page (still at ${page.url()}): ${String(e)}\n--- the dialog showed ---\n${shown}\n${platformTail()}`,
    );
  });
  return page.url().split('/').pop() as string;
}

const terminalText = (page: Page) => page.locator('[data-testid="terminal"] .xterm-rows').innerText();
const statusOf = (page: Page) => page.locator('.detail [data-testid="task-status"]').first();

describe('Dashboard in Chromium against the real platform', () => {
  let platform: Platform;
  let alice: { context: BrowserContext; page: Page; dir: string };
  let bob: { context: BrowserContext; page: Page; dir: string } | undefined;
  let agent: WorkerAgentProcess | undefined;
  let base: string;
  let shortTaskId = '';
  const workerName = `e2e-worker-${run}`;
  const password = 'correct horse battery';

  beforeAll(async () => {
    for (const needed of ['web/dist/index.html', 'services/gateway/dist/main.js', 'worker/dist/main.js']) {
      if (!existsSync(join(repoRoot, needed))) throw new Error(`${needed} is missing: run \`node infra/scripts/build.mjs\` and \`npm run build:web\` first`);
    }
    // Only this spec's screenshots: workflows.e2e.spec.ts saves its own (wf-*) in the same folder.
    mkdirSync(shots, { recursive: true });
    for (const f of readdirSync(shots)) if (!f.startsWith('wf-')) rmSync(join(shots, f), { force: true });
    platform = await startPlatform();
    platformTail = () =>
      platformServices
        .map((name) => {
          const { pid, output } = platform.service(name);
          return `--- ${name} (pid ${pid}${pid !== undefined && running(pid) ? '' : ', not running'}) ---\n${output().slice(-1_500)}`;
        })
        .concat(`--- worker agent ---\n${agent?.output().slice(-1_500) ?? '(not started)'}`)
        .join('\n');
    base = platform.url;
    alice = await openBrowser();
  }, 180_000);

  afterAll(async () => {
    await alice?.context.close().catch(() => undefined);
    await bob?.context.close().catch(() => undefined);
    await platform?.stop();
    for (const d of [alice?.dir, bob?.dir]) if (d) rmSync(d, { recursive: true, force: true });
  }, 120_000);

  it('sends a signed-out visitor to the login page', async () => {
    const { page } = alice;
    await page.goto(`${base}/tasks`);
    await page.waitForURL(/\/login\?redirect=(%2F|\/)tasks$/);
    await shot(page, '01-login');
  });

  it('registers, logs out, and logs in again', async () => {
    const { page } = alice;
    await register(page, base, `alice-${run}`, password, '02-register');
    await page.getByTestId('logout').click();
    await page.waitForURL(`${base}/login`);
    await page.getByLabel('Username or email').fill(`alice-${run}`);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByTestId('login-submit').click();
    await expect(page.getByTestId('login-error').innerText()).resolves.toContain('Wrong username or password');
    await shot(page, '03-login-error');
    await page.getByLabel('Password').fill(password);
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${base}/`);
    await page.locator('[data-testid="live-status"]', { hasText: 'Live' }).waitFor();
    await expect(page.getByTestId('current-user').innerText()).resolves.toBe(`alice-${run}`);
    await shot(page, '04-overview-empty');
  });

  it('adds a worker with the command the dialog shows and sees it come online', async () => {
    const { page } = alice;
    await page.getByTestId('nav-workers').click();
    await page.getByText('No workers yet').waitFor();
    await shot(page, '05-workers-empty');
    await page.getByTestId('add-worker').first().click();
    await shot(page, '06-add-worker-form');
    await page.getByTestId('create-registration-token').click();
    const command = await page.getByTestId('install-command').innerText();
    const token = await page.getByTestId('registration-token').innerText();
    expect(command).toContain(`--url ${base}`);
    expect(command).toContain(`--token ${token}`);
    expect(token).toMatch(/^ayr_/);
    await shot(page, '07-add-worker-command');

    agent = platform.startWorker({ token: command.match(/--token (\S+)/)?.[1], name: workerName });
    await page.getByTestId('add-worker-done').click();
    const row = page.locator(`[data-testid="worker-row"][data-worker-name="${workerName}"]`);
    await row
      .locator('[data-testid="worker-status"][data-status="online"]')
      .waitFor({ timeout: 60_000 })
      .catch((e: unknown) => {
        throw new Error(`the worker did not show as online: ${String(e)}\n--- agent output ---\n${agent?.output()}`);
      });
    await expect(row.innerText()).resolves.toContain('shell');
    // Two polls give the sparklines a line rather than a dot.
    await page.waitForTimeout(11_000);
    await shot(page, '08-workers-online');
    await page.setViewportSize(phone);
    await shot(page, '08b-workers-phone');
    await page.setViewportSize(desktop);
    await row.getByRole('link', { name: workerName }).click();
    await page.getByText('Machine').waitFor();
    await shot(page, '09-worker-detail');

    // Drain it from the page, then resume it: it takes tasks again (the next tests need it).
    await page.getByTestId('drain-worker').click();
    await page.locator('.n-popconfirm').getByRole('button', { name: 'Drain' }).click();
    const drainedNote = page.getByText('Drained: this worker takes no new tasks');
    await drainedNote.waitFor();
    await page.getByTestId('resume-worker').click();
    await drainedNote.waitFor({ state: 'detached' });
    await page.getByTestId('drain-worker').waitFor();
  });

  it('runs a shell task and shows its output and success live, without a reload', async () => {
    const { page } = alice;
    const navigations: string[] = [];
    page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));
    shortTaskId = await createTask(page, 'Say hello from the e2e test', 'echo hello-from-e2e; for i in 1 2 3; do echo "line $i"; sleep 1; done; echo all-done');
    await page.waitForFunction(() => document.querySelector('[data-testid="terminal"] .xterm-rows')?.textContent?.includes('hello-from-e2e'), undefined, {
      timeout: 60_000,
    });
    await shot(page, '10-task-running');
    await page.locator('.detail [data-testid="task-status"][data-status="succeeded"]').waitFor({ timeout: 60_000 });
    expect(await terminalText(page)).toContain('all-done');
    await page.getByTestId('allocation-winner').waitFor();
    await expect(page.getByTestId('allocation-winner').innerText()).resolves.toBe(workerName);
    await page.getByTestId('event-timeline').getByText('TaskSucceeded').waitFor();
    await expect(page.getByTestId('exit-code').innerText()).resolves.toBe('0');
    // Client-side route changes only: the page itself was never reloaded.
    expect(navigations.every((u) => u.startsWith(base))).toBe(true);
    expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);
    await shot(page, '11-task-succeeded');
    const download = page.waitForEvent('download');
    await page.getByTestId('download-output').click();
    expect((await download).suggestedFilename()).toMatch(/^task-.*\.log$/);
  });

  it('cancels a long task and shows it cancelled', async () => {
    const { page } = alice;
    await createTask(page, 'A long task to cancel', 'echo started-long; sleep 300');
    await page.locator('.detail [data-testid="task-status"][data-status="running"]').waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid="terminal"] .xterm-rows')?.textContent?.includes('started-long'), undefined, {
      timeout: 30_000,
    });
    await page.getByTestId('cancel-task').click();
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await page.locator('.detail [data-testid="task-status"][data-status="cancelled"]').waitFor({ timeout: 60_000 });
    await expect(statusOf(page).innerText()).resolves.toContain('Cancelled');
    await shot(page, '12-task-cancelled');
  });

  it('keeps list filters in the URL', async () => {
    const { page } = alice;
    await page.goto(`${base}/tasks?status=succeeded`);
    await page.locator('[data-testid="task-row"]').first().waitFor();
    expect(await page.locator('[data-testid="task-row"]').count()).toBe(1);
    await expect(page.locator('[data-testid="task-row"]').first().getAttribute('data-task-id')).resolves.toBe(shortTaskId);
    await shot(page, '13-tasks-filtered');
    await page.goto(`${base}/tasks`);
    await page.locator('[data-testid="task-row"]').nth(1).waitFor();
    await shot(page, '14-tasks');
    await page.setViewportSize(phone);
    await shot(page, '14b-tasks-phone');
    await page.setViewportSize(desktop);
  });

  it('shows live counts and activity on the overview', async () => {
    const { page } = alice;
    await page.getByTestId('nav-overview').click();
    await page.locator('[data-testid="count-succeeded"]', { hasText: '1' }).waitFor();
    await page.locator('[data-testid="count-cancelled"]', { hasText: '1' }).waitFor();
    await expect(page.getByTestId('workers-online').innerText()).resolves.toContain('1');
    await page.waitForTimeout(1_500); // the chart is a lazy chunk
    await shot(page, '15-overview');
    await page.setViewportSize(phone);
    await page.waitForTimeout(500); // the chart resizes on the next frame
    await shot(page, '15b-overview-phone');
    await page.setViewportSize(desktop);
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('profile').waitFor();
    await page.getByTestId('theme-dark').click();
    await shot(page, '16-settings-dark');
    await page.getByTestId('nav-overview').click();
    await page.waitForTimeout(1_000);
    await shot(page, '17-overview-dark');
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('theme-light').click();
  });

  it('creates an API token, shows it once, and revokes it', async () => {
    const { page } = alice;
    const name = `ci-${run}`;
    await page.getByTestId('api-tokens').waitFor();
    await page.getByTestId('create-api-token').click();
    const dialog = page.getByTestId('create-api-token-dialog');
    await dialog.getByLabel('Name').fill(name);
    await dialog.getByTestId('create-api-token-submit').click();
    await dialog.getByText('Choose at least one scope').waitFor();
    await dialog.getByRole('checkbox', { name: /tasks:read/ }).click();
    await dialog.getByTestId('create-api-token-submit').click();
    const secret = (await dialog.getByTestId('api-token-secret').innerText()).trim();
    expect(secret).toMatch(/^ayt_[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
    await dialog.getByTestId('api-token-once-note').waitFor();
    await shot(page, '16b-api-token-created');
    // The secret works as a bearer credential within its scope.
    const tasks = await fetch(`${base}/api/v1/tasks`, { headers: { authorization: `Bearer ${secret}` } });
    expect(tasks.status).toBe(200);
    await dialog.getByTestId('api-token-done').click();
    await dialog.waitFor({ state: 'hidden' });
    const row = page.locator(`[data-testid="api-token-row"][data-token-name="${name}"]`);
    await row.waitFor();
    await expect(page.getByTestId('api-tokens').innerText()).resolves.not.toContain(secret);
    await row.getByTestId('revoke-api-token').click();
    await page.getByRole('button', { name: 'Revoke', exact: true }).click();
    await row.waitFor({ state: 'detached' });
    await shot(page, '16c-api-token-revoked');
  });

  it('never shows one user’s tasks or workers to another user', async () => {
    bob = await openBrowser();
    const { page } = bob;
    await register(page, base, `bob-${run}`, password);
    await page.locator('[data-testid="live-status"]', { hasText: 'Live' }).waitFor();
    // Alice submits a task while Bob watches his overview: nothing of it may reach Bob.
    await createTask(alice.page, 'Alice’s private task', 'echo private');
    await alice.page.locator('.detail [data-testid="task-status"][data-status="succeeded"]').waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1_500);
    await expect(page.getByTestId('activity-feed').innerText()).resolves.not.toContain('Alice');
    await expect(page.locator('[data-testid="count-succeeded"]').innerText()).resolves.toContain('0');
    await expect(page.getByTestId('workers-online').innerText()).resolves.toMatch(/0\s*\/\s*0/);
    await page.getByTestId('nav-tasks').click();
    await page.getByText('No tasks yet').waitFor();
    expect(await page.locator('[data-testid="task-row"]').count()).toBe(0);
    await shot(page, '18-second-user-tasks');
    await page.getByTestId('nav-workers').click();
    await page.getByText('No workers yet').waitFor();
    await page.goto(`${base}/tasks/${shortTaskId}`);
    await page.getByText('Task not found').waitFor();
    await shot(page, '19-second-user-foreign-task');
  });

  it("revokes a lost machine's credential from its page (after every test that needs the worker)", async () => {
    const { page } = alice;
    await page.getByTestId('nav-workers').click();
    await page.locator(`[data-testid="worker-row"][data-worker-name="${workerName}"]`).getByRole('link', { name: workerName }).click();
    await page.getByTestId('revoke-worker-credential').click();
    await page.locator('.n-popconfirm').getByRole('button', { name: 'Revoke' }).click();
    await page.getByText('Register the machine again to bring it back').waitFor();
    expect(await page.getByTestId('revoke-worker-credential').count()).toBe(0);
    await page.locator('[data-testid="worker-status"][data-status="revoked"]').waitFor();
    await shot(page, '19b-worker-credential-revoked');
  });

  it('logs out back to the login page', async () => {
    const { page } = alice;
    await page.getByTestId('logout').click();
    await page.waitForURL(`${base}/login`);
    await page.goto(`${base}/workers`);
    await page.waitForURL(/\/login/);
    await shot(page, '20-logged-out');
    await agent?.stop();
  });

  it('serves the API docs (Swagger UI) under the same Content-Security-Policy', async () => {
    const { page } = alice;
    await page.goto(`${base}/api/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();
    await page.locator('.opblock-summary-path', { hasText: '/api/v1/auth/login' }).first().waitFor();
    await shot(page, '21-api-docs');
  });

  // Last: every screen above ran under the policy the gateway sends.
  it('ran every screen under the gateway’s Content-Security-Policy without a violation', async () => {
    const res = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
    expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(cspViolations).toEqual([]);
  });
});
