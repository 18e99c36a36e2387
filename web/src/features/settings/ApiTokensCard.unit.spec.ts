import { flushPromises, mount } from '@vue/test-utils';
import { NMessageProvider } from 'naive-ui';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { useSessionStore } from '@/stores/session.store';
import { fakeServer, json, tokenPair, user } from '@/test/fake-server';
import ApiTokensCard from './ApiTokensCard.vue';

const tokens = [
  { id: 'a', name: 'CI deploy', scopes: ['tasks:read', 'tasks:write'], createdAt: '2026-11-01T10:00:00.000Z', expiresAt: null, lastUsedAt: null },
  {
    id: 'b',
    name: 'Old script',
    scopes: ['workers:read'],
    createdAt: '2026-10-01T10:00:00.000Z',
    expiresAt: '2026-10-02T10:00:00.000Z',
    lastUsedAt: '2026-10-01T12:00:00.000Z',
  },
];

async function render(list: unknown = { items: tokens }) {
  const server = fakeServer()
    .on('POST /api/v1/auth/login', () => tokenPair(1))
    .on('GET /api/v1/auth/me', () => user)
    .on('GET /api/v1/auth/tokens', () => list)
    .on('DELETE /api/v1/auth/tokens/:id', () => new Response(null, { status: 204 }))
    .install();
  const pinia = createPinia();
  setActivePinia(pinia);
  await useSessionStore().login('alice', 'pw');
  const Host = defineComponent(() => () => h(NMessageProvider, null, () => h(ApiTokensCard)));
  mount(Host, { global: { plugins: [pinia] }, attachTo: document.body });
  await flushPromises();
  return { server };
}

const rows = () => [...document.body.querySelectorAll<HTMLElement>('[data-testid="api-token-row"]')];

describe('ApiTokensCard', () => {
  beforeEach(() => {
    localStorage.clear();
    document.body.innerHTML = '';
  });

  it('lists tokens with their scopes as tags, expiry and last use', async () => {
    await render();
    expect(rows().map((r) => r.dataset.tokenName)).toEqual(['CI deploy', 'Old script']);
    const [ci, old] = rows();
    expect([...ci.querySelectorAll('.n-tag')].map((t) => t.textContent?.trim())).toEqual(['tasks:read', 'tasks:write']);
    expect(ci.textContent).toContain('Never');
    expect(old.textContent).toContain('Expired');
    expect(document.body.querySelector('button[aria-label="Revoke CI deploy"]')).not.toBeNull();
  });

  it('says so when there are none, and shows a failed load', async () => {
    await render();
    expect(document.body.querySelector('[data-testid="api-tokens-empty"]')).toBeNull();
    document.body.innerHTML = '';
    await render({ items: [] });
    expect(document.body.querySelector('[data-testid="api-tokens-empty"]')).not.toBeNull();
    document.body.innerHTML = '';
    await render(json(500, { error: 'INTERNAL', message: 'Database is down.' }));
    expect(document.body.querySelector('[data-testid="api-tokens-error"]')?.textContent).toContain('Database is down.');
  });

  it('revokes only after confirmation', async () => {
    const { server } = await render();
    document.body.querySelector<HTMLElement>('button[aria-label="Revoke CI deploy"]')?.click();
    await flushPromises();
    const deletes = () => server.requests.filter((r) => r.method === 'DELETE');
    expect(deletes()).toHaveLength(0);
    expect(document.body.textContent).toContain('Anything using it stops working at once.');
    const confirm = [...document.body.querySelectorAll<HTMLElement>('.n-popconfirm button')].find((b) => b.textContent?.trim() === 'Revoke');
    expect(confirm).toBeDefined();
    confirm?.click();
    await flushPromises();
    expect(deletes().map((r) => r.path)).toEqual(['/api/v1/auth/tokens/a']);
    expect(rows().map((r) => r.dataset.tokenName)).toEqual(['Old script']);
  });
});
