import { flushPromises, mount } from '@vue/test-utils';
import { NMessageProvider } from 'naive-ui';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { defineComponent, h, ref } from 'vue';
import { useApiTokenStore } from '@/stores/api-tokens.store';
import { useSessionStore } from '@/stores/session.store';
import { fakeServer, json, tokenPair, user } from '@/test/fake-server';
import CreateApiTokenDialog from './CreateApiTokenDialog.vue';

const secret = 'ayt_00000000-0000-4000-8000-000000000001.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ';

async function open() {
  const server = fakeServer()
    .on('POST /api/v1/auth/login', () => tokenPair(1))
    .on('GET /api/v1/auth/me', () => user)
    .on('POST /api/v1/auth/tokens', (req) =>
      json(201, { id: 't-1', createdAt: '2026-11-01T10:00:00.000Z', expiresAt: null, lastUsedAt: null, ...(req.body as object), token: secret }),
    )
    .install();
  const pinia = createPinia();
  setActivePinia(pinia);
  await useSessionStore().login('alice', 'pw');
  const show = ref(false);
  const Host = defineComponent(
    () => () => h(NMessageProvider, null, () => h(CreateApiTokenDialog, { show: show.value, 'onUpdate:show': (v: boolean) => (show.value = v) })),
  );
  mount(Host, { global: { plugins: [pinia] }, attachTo: document.body });
  show.value = true;
  await flushPromises();
  return { server, show };
}

const $ = <T extends Element = HTMLElement>(selector: string) => document.body.querySelector<T>(selector);
async function type(selector: string, value: string) {
  const el = $<HTMLInputElement>(selector);
  if (!el) throw new Error(`no ${selector}`);
  el.value = value;
  el.dispatchEvent(new Event('input'));
  await flushPromises();
}
async function click(selector: string) {
  const el = $(selector);
  if (!el) throw new Error(`no ${selector}`);
  el.click();
  await flushPromises();
}
async function submit() {
  $('[data-testid="create-api-token-dialog"] form')?.dispatchEvent(new Event('submit'));
  await flushPromises();
}
const posts = (server: Awaited<ReturnType<typeof open>>['server']) => server.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/auth/tokens');

describe('CreateApiTokenDialog', () => {
  beforeEach(() => {
    localStorage.clear();
    document.body.innerHTML = '';
  });

  it('has labelled controls for the name, each scope and the expiry', async () => {
    await open();
    expect($('label[for="api-token-name"]')?.textContent).toContain('Name');
    expect($('#api-token-name')).not.toBeNull();
    expect($('label[for="api-token-expiry"]')?.textContent).toContain('Expires after');
    expect($('#api-token-expiry')).not.toBeNull();
    expect($('fieldset legend')?.textContent).toBe('Scopes');
    for (const s of ['tasks:read', 'tasks:write', 'workers:read', 'workers:write']) {
      const box = $(`[data-testid="api-token-scope-${s}"]`);
      expect(box?.getAttribute('role')).toBe('checkbox');
      expect(box?.textContent).toContain(s);
    }
  });

  it('requires at least one scope (and a name) before sending anything', async () => {
    const { server } = await open();
    await submit();
    expect(document.body.textContent).toContain('Give the token a name');
    expect(document.body.textContent).toContain('Choose at least one scope');
    await type('#api-token-name', 'CI');
    await submit();
    expect(document.body.textContent).toContain('Choose at least one scope');
    expect(posts(server)).toHaveLength(0);
  });

  it('creates the token, shows the secret once with a warning, and copies it', async () => {
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const { server, show } = await open();
    await type('#api-token-name', 'CI deploy');
    await click('[data-testid="api-token-scope-tasks:write"]');
    await click('[data-testid="api-token-scope-tasks:read"]');
    await type('#api-token-expiry', '');
    $('#api-token-expiry')?.dispatchEvent(new Event('blur'));
    await flushPromises();
    await submit();
    expect(posts(server).map((r) => r.body)).toEqual([{ name: 'CI deploy', scopes: ['tasks:read', 'tasks:write'] }]);

    expect($('[data-testid="api-token-secret"]')?.textContent).toBe(secret);
    expect($('[data-testid="api-token-once-note"]')?.textContent).toMatch(/won’t see it again/);
    expect(useApiTokenStore().items[0]).not.toHaveProperty('token');

    await click('[data-testid="copy-api-token"]');
    expect(writeText).toHaveBeenCalledWith(secret);

    await click('[data-testid="api-token-done"]');
    expect(show.value).toBe(false);
    show.value = true;
    await flushPromises();
    expect(document.body.textContent).not.toContain(secret);
    expect($('#api-token-name')).not.toBeNull();
  });

  it('sends the expiry in days when one is given', async () => {
    const { server } = await open();
    await type('#api-token-name', 'Nightly');
    await click('[data-testid="api-token-scope-workers:read"]');
    await type('#api-token-expiry', '7');
    $('#api-token-expiry')?.dispatchEvent(new Event('blur'));
    await flushPromises();
    await submit();
    expect(posts(server).map((r) => r.body)).toEqual([{ name: 'Nightly', scopes: ['workers:read'], expiresInDays: 7 }]);
  });

  it('shows the server’s message when creating fails', async () => {
    const { server } = await open();
    server.on('POST /api/v1/auth/tokens', () => json(409, { error: 'CONFLICT', message: 'You already have a token called CI.' }));
    await type('#api-token-name', 'CI');
    await click('[data-testid="api-token-scope-tasks:read"]');
    await submit();
    expect($('[data-testid="create-api-token-error"]')?.textContent).toContain('You already have a token called CI.');
    expect($('[data-testid="api-token-secret"]')).toBeNull();
  });
});
