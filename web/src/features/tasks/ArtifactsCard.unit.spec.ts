import { flushPromises, mount } from '@vue/test-utils';
import { NMessageProvider } from 'naive-ui';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { defineComponent, h } from 'vue';
import type { TaskArtifact } from '@/api/task-artifacts';
import { shortId } from '@/lib/format';
import { useSessionStore } from '@/stores/session.store';
import { fakeServer, json, tokenPair, user } from '@/test/fake-server';
import ArtifactsCard from './ArtifactsCard.vue';

const artifact = (name: string, attempt: number, bytes: number): TaskArtifact => ({
  name,
  attempt,
  bytes,
  sha256: `${name}-${attempt}`.padEnd(64, '0'),
  contentType: 'text/plain; charset=utf-8',
  createdAt: '2026-11-01T10:00:00.000Z',
});

const patch = ['diff --git a/a.txt b/a.txt', '--- a/a.txt', '+++ b/a.txt', '@@ -1 +1 @@', '-old line', '+new line'].join('\n');
const text = (body: string) => new Response(body, { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' } });

async function mountCard(artifacts: TaskArtifact[], routes: (s: ReturnType<typeof fakeServer>) => void = () => undefined) {
  const server = fakeServer()
    .on('POST /api/v1/auth/login', () => tokenPair(1))
    .on('GET /api/v1/auth/me', () => user);
  routes(server);
  server.install();
  const pinia = createPinia();
  setActivePinia(pinia);
  await useSessionStore().login('alice', 'pw');
  const Host = defineComponent(() => () => h(NMessageProvider, null, () => h(ArtifactsCard, { taskId: 'task-1234567890', attempt: 2, artifacts })));
  const wrapper = mount(Host, { global: { plugins: [pinia] }, attachTo: document.body });
  await flushPromises();
  await vi.dynamicImportSettled();
  await flushPromises();
  return { server, wrapper };
}

function captureDownloads() {
  const saved: { name: string; blob: Blob }[] = [];
  const blobs = new Map<string, Blob>();
  vi.spyOn(URL, 'createObjectURL').mockImplementation((b) => {
    const url = `blob:test/${blobs.size}`;
    blobs.set(url, b as Blob);
    return url;
  });
  vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined);
  vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
    saved.push({ name: this.download, blob: blobs.get(this.href)! });
  });
  return saved;
}

describe('ArtifactsCard', () => {
  beforeEach(() => {
    localStorage.clear();
    document.body.innerHTML = '';
  });

  it('lists the artifacts, newest attempt first, with their sizes', async () => {
    const { wrapper } = await mountCard([artifact('log', 1, 100), artifact('diff.stat', 2, 2_048), artifact('log', 2, 5 * 1024 * 1024)]);
    const rows = wrapper.findAll('[data-testid="artifact-row"]');
    expect(
      rows.map((r) =>
        r
          .findAll('th, td')
          .map((c) => c.text())
          .slice(0, 3),
      ),
    ).toEqual([
      ['diff.stat', '2', '2.0 KB'],
      ['log', '2', '5.0 MB'],
      ['log', '1', '100 B'],
    ]);
    expect(wrapper.find('[data-testid="diff-viewer"]').exists()).toBe(false);
  });

  it('downloads an artifact with the bearer token in a header and saves it under a telling name', async () => {
    const saved = captureDownloads();
    const { server, wrapper } = await mountCard([artifact('report.json', 2, 9)], (s) => s.on('GET /api/v1/tasks/:id/artifacts/:name', () => text('{"ok":1}')));
    await wrapper.find('[aria-label="Download report.json"]').trigger('click');
    await flushPromises();
    const req = server.requests.find((r) => r.path === '/api/v1/tasks/task-1234567890/artifacts/report.json');
    expect(req?.auth).toBe('Bearer access-1');
    expect(req?.search).toBe('?attempt=2');
    expect(saved.map((s) => s.name)).toEqual([`task-${shortId('task-1234567890')}-2-report.json`]);
    expect(req?.path + (req?.search ?? '')).not.toContain('access-1');
    expect(await saved[0].blob.text()).toBe('{"ok":1}');
  });

  it('downloads the attempt’s full log, and says so when none is stored yet', async () => {
    const saved = captureDownloads();
    let stored = false;
    const { server, wrapper } = await mountCard([], (s) =>
      s.on('GET /api/v1/tasks/:id/logs', () => (stored ? text('all of it\n') : json(404, { error: 'NOT_FOUND', message: 'no log' }))),
    );
    expect(wrapper.find('[data-testid="no-artifacts"]').exists()).toBe(true);
    await wrapper.find('[data-testid="download-log"]').trigger('click');
    await flushPromises();
    expect(document.body.textContent).toContain('No full log is stored for this attempt yet.');
    expect(saved).toHaveLength(0);
    stored = true;
    await wrapper.find('[data-testid="download-log"]').trigger('click');
    await flushPromises();
    expect(server.requests.filter((r) => r.path === '/api/v1/tasks/task-1234567890/logs').map((r) => r.search)).toEqual(['?attempt=2', '?attempt=2']);
    expect(saved[0].name).toMatch(/-2-log\.txt$/);
    expect(await saved[0].blob.text()).toBe('all of it\n');
  });

  it('shows the newest attempt’s diff.patch in the diff viewer', async () => {
    const { server, wrapper } = await mountCard([artifact('diff.patch', 1, 80), artifact('diff.patch', 2, 80)], (s) =>
      s.on('GET /api/v1/tasks/:id/artifacts/:name', () => text(patch)),
    );
    expect(server.requests.filter((r) => r.path.endsWith('/artifacts/diff.patch')).map((r) => r.search)).toEqual(['?attempt=2']);
    const viewer = wrapper.find('[data-testid="diff-viewer"]');
    expect(viewer.exists()).toBe(true);
    expect(viewer.find('tr.del').text()).toContain('old line');
    expect(viewer.find('tr.add').text()).toContain('new line');
  });

  it('waits for a click before fetching a very large diff', async () => {
    const { server, wrapper } = await mountCard([artifact('diff.patch', 2, 3 * 1024 * 1024)], (s) =>
      s.on('GET /api/v1/tasks/:id/artifacts/:name', () => text(patch)),
    );
    expect(wrapper.find('[data-testid="diff-large"]').text()).toContain('3.0 MB');
    expect(server.requests.some((r) => r.path.endsWith('/diff.patch'))).toBe(false);
    await wrapper.find('[data-testid="load-diff"]').trigger('click');
    await flushPromises();
    await vi.dynamicImportSettled();
    await flushPromises();
    expect(wrapper.find('[data-testid="diff-viewer"]').exists()).toBe(true);
  });
});
