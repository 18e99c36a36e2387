import { flushPromises, mount } from '@vue/test-utils';
import { NMessageProvider } from 'naive-ui';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { defineComponent, h, ref } from 'vue';
import { createMemoryHistory, createRouter } from 'vue-router';
import { useSessionStore } from '@/stores/session.store';
import { useWorkerStore } from '@/stores/workers.store';
import { fakeServer, json, task, tokenPair, user, worker } from '@/test/fake-server';
import CreateTaskDialog from './CreateTaskDialog.vue';

const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:p(.*)*', name: 'workers', component: { template: '<div />' } }] });

async function open(workers: ReturnType<typeof worker>[]) {
  const server = fakeServer()
    .on('POST /api/v1/auth/login', () => tokenPair(1))
    .on('GET /api/v1/auth/me', () => user)
    .on('GET /api/v1/workers', () => ({ items: workers }))
    .on('POST /api/v1/tasks', (req) => json(201, task({ id: 'new', ...(req.body as object) })))
    .install();
  const pinia = createPinia();
  setActivePinia(pinia);
  await useSessionStore().login('alice', 'pw');
  await useWorkerStore().fetch();
  const created: unknown[] = [];
  const show = ref(false);
  const Host = defineComponent(
    () => () =>
      h(NMessageProvider, null, () =>
        h(CreateTaskDialog, { show: show.value, 'onUpdate:show': (v: boolean) => (show.value = v), onCreated: (t: unknown) => created.push(t) }),
      ),
  );
  mount(Host, { global: { plugins: [pinia, router] }, attachTo: document.body });
  show.value = true;
  await flushPromises();
  return { server, created, show };
}

const input = (selector: string) => document.body.querySelector<HTMLInputElement | HTMLTextAreaElement>(selector);
async function type(selector: string, value: string) {
  const el = input(selector);
  if (!el) throw new Error(`no ${selector}`);
  el.value = value;
  el.dispatchEvent(new Event('input'));
  await flushPromises();
}

/** A number field takes what was typed once it loses focus, as a person tabbing on would. */
async function typeNumber(selector: string, value: string) {
  await type(selector, value);
  input(selector)?.dispatchEvent(new FocusEvent('blur'));
  await flushPromises();
}

describe('CreateTaskDialog', () => {
  beforeEach(() => {
    localStorage.clear();
    document.body.innerHTML = '';
  });

  it('creates a shell task with the command as input', async () => {
    const { server, created, show } = await open([worker()]);
    expect(input('#task-command')).not.toBeNull();
    expect(input('#task-prompt')).toBeNull();
    await type('#task-description', 'Say hello');
    await type('#task-command', 'echo hello');
    document.body.querySelector('[data-testid="create-task-dialog"] form')?.dispatchEvent(new Event('submit'));
    await flushPromises();
    expect(server.requests.find((r) => r.method === 'POST' && r.path === '/api/v1/tasks')?.body).toEqual({
      description: 'Say hello',
      tool: 'shell',
      input: { command: 'echo hello' },
      priority: 50,
      timeoutSeconds: 3600,
      maxAttempts: 3,
    });
    expect(created).toHaveLength(1);
    expect(show.value).toBe(false);
  });

  it('shows prompt fields when the only online tool is a prompt tool', async () => {
    await open([worker({ tools: [{ name: 'claude-code', version: '1.0' }] })]);
    expect(input('#task-prompt')).not.toBeNull();
    expect(input('#task-model')).not.toBeNull();
    expect(input('#task-command')).toBeNull();
  });

  it('explains that a worker is needed when none is online', async () => {
    const { server } = await open([worker({ status: 'offline' })]);
    expect(document.body.textContent).toContain('No worker is online');
    document.body.querySelector('[data-testid="create-task-dialog"] form')?.dispatchEvent(new Event('submit'));
    await flushPromises();
    expect(server.requests.some((r) => r.method === 'POST' && r.path === '/api/v1/tasks')).toBe(false);
  });

  it('shows the server’s field errors', async () => {
    const { server } = await open([worker()]);
    server.on('POST /api/v1/tasks', () =>
      json(400, {
        error: 'VALIDATION_FAILED',
        message: 'invalid body: input.command: command must be at most 64 KiB',
        details: [{ field: 'input.command', message: 'command must be at most 64 KiB' }],
      }),
    );
    await type('#task-description', 'Too long');
    await type('#task-command', 'x');
    document.body.querySelector('[data-testid="create-task-dialog"] form')?.dispatchEvent(new Event('submit'));
    await flushPromises();
    expect(document.body.textContent).toContain('command must be at most 64 KiB');
  });

  it('sends the repository section as input.workspace and shows the server’s error on its field', async () => {
    const { server } = await open([worker()]);
    expect(document.body.querySelector('[data-testid="task-repository"]')).not.toBeNull();
    await type('#task-description', 'Build it');
    await type('#task-command', 'make');
    await type('#task-repo', 'relative/repo');
    const submit = () => document.body.querySelector('[data-testid="create-task-dialog"] form')?.dispatchEvent(new Event('submit'));
    submit();
    await flushPromises();
    // The contract's rule, before any request.
    expect(document.body.textContent).toContain('an absolute path on the worker');
    expect(server.requests.some((r) => r.method === 'POST' && r.path === '/api/v1/tasks')).toBe(false);

    server.on('POST /api/v1/tasks', () =>
      json(400, { error: 'VALIDATION_FAILED', message: 'invalid', details: [{ field: 'input.workspace.ref', message: 'no such ref on the worker' }] }),
    );
    await type('#task-repo', 'https://github.com/acme/app.git');
    await type('#task-ref', 'release/1.0');
    document.body.querySelector<HTMLElement>('[data-testid="task-push"]')?.click();
    await flushPromises();
    submit();
    await flushPromises();
    expect(server.requests.find((r) => r.method === 'POST' && r.path === '/api/v1/tasks')?.body).toMatchObject({
      input: { command: 'make', workspace: { repo: 'https://github.com/acme/app.git', ref: 'release/1.0', push: true } },
    });
    const refItem = input('#task-ref')?.closest('.n-form-item');
    expect(refItem?.textContent).toContain('no such ref on the worker');
  });

  it('offers no repository section for a chat tool', async () => {
    await open([worker({ tools: [{ name: 'claude-api', version: null }] })]);
    expect(input('#task-prompt')).not.toBeNull();
    expect(document.body.querySelector('[data-testid="task-repository"]')).toBeNull();
  });

  it('sends a prompt tool’s budget as input.budget and shows the server’s budget error on its field', async () => {
    const { server } = await open([worker({ tools: [{ name: 'claude-code', version: '1.0' }] })]);
    expect(document.body.querySelector('[data-testid="task-budget"]')).not.toBeNull();
    await type('#task-description', 'Fix the build');
    await type('#task-prompt', 'Fix it');
    await typeNumber('#task-budget-tokens', '200000');
    await typeNumber('#task-budget-cost', '2.5');
    server.on('POST /api/v1/tasks', () =>
      json(400, {
        error: 'VALIDATION_FAILED',
        message: 'invalid',
        details: [{ field: 'input.budget.maxCostUsd', message: 'no price for this model on any worker' }],
      }),
    );
    document.body.querySelector('[data-testid="create-task-dialog"] form')?.dispatchEvent(new Event('submit'));
    await flushPromises();
    expect(server.requests.find((r) => r.method === 'POST' && r.path === '/api/v1/tasks')?.body).toMatchObject({
      tool: 'claude-code',
      input: { prompt: 'Fix it', budget: { maxTokens: 200_000, maxCostUsd: 2.5 } },
    });
    expect(input('#task-budget-cost')?.closest('.n-form-item')?.textContent).toContain('no price for this model');
  });

  it('offers no budget for a tool without a prompt', async () => {
    await open([worker()]);
    expect(input('#task-command')).not.toBeNull();
    expect(document.body.querySelector('[data-testid="task-budget"]')).toBeNull();
  });
});
