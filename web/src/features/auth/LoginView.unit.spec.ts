import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory } from 'vue-router';
import { createAppRouter } from '@/router';
import { fakeServer, json, tokenPair, user } from '@/test/fake-server';
import LoginView from './LoginView.vue';

async function mountAt(path: string) {
  const pinia = createPinia();
  setActivePinia(pinia);
  const router = createAppRouter(createMemoryHistory());
  await router.push(path);
  const wrapper = mount(LoginView, { global: { plugins: [pinia, router] }, attachTo: document.body });
  return { wrapper, router };
}

describe('LoginView', () => {
  let server: ReturnType<typeof fakeServer>;
  beforeEach(() => {
    localStorage.clear();
    document.body.innerHTML = '';
    server = fakeServer()
      .on('POST /api/v1/auth/login', (req) =>
        (req.body as { password: string }).password === 'secret-pw' ? tokenPair(1) : json(401, { error: 'UNAUTHENTICATED', message: 'invalid credentials' }),
      )
      .on('GET /api/v1/auth/me', () => user)
      .install();
  });

  it('labels its inputs', async () => {
    const { wrapper } = await mountAt('/login');
    expect(wrapper.find('label[for="login-username"]').text()).toContain('Username or email');
    expect(wrapper.find('input#login-username').exists()).toBe(true);
    expect(wrapper.find('input#login-password').attributes('type')).toBe('password');
  });

  it('signs in and goes back to the page that asked for it', async () => {
    const { wrapper, router } = await mountAt('/login?redirect=/workers');
    await wrapper.find('input#login-username').setValue('alice');
    await wrapper.find('input#login-password').setValue('secret-pw');
    await wrapper.find('form').trigger('submit');
    await flushPromises();
    await vi_waitForRoute(router, '/workers');
    expect(server.requests.find((r) => r.path === '/api/v1/auth/login')?.body).toEqual({ username: 'alice', password: 'secret-pw' });
  });

  it('says so when the password is wrong', async () => {
    const { wrapper } = await mountAt('/login');
    await wrapper.find('input#login-username').setValue('alice');
    await wrapper.find('input#login-password').setValue('nope');
    await wrapper.find('form').trigger('submit');
    await flushPromises();
    expect(wrapper.find('[data-testid="login-error"]').text()).toBe('Wrong username or password.');
  });

  it('asks for both fields before calling the server', async () => {
    const { wrapper } = await mountAt('/login');
    await wrapper.find('form').trigger('submit');
    await flushPromises();
    expect(wrapper.find('[data-testid="login-error"]').text()).toMatch(/Enter your username/);
    expect(server.requests).toHaveLength(0);
  });
});

/** The target route is lazy: its chunk is transformed on first use, which takes a while on a busy machine. */
async function vi_waitForRoute(router: ReturnType<typeof createAppRouter>, path: string): Promise<void> {
  await vi.waitFor(() => expect(router.currentRoute.value.path).toBe(path), { timeout: 5_000, interval: 20 });
}
