/*
 * Routes are lazy so each screen's libraries load with it: the login route needs only Vue and a
 * few form components; echarts comes with the overview, xterm with task detail, vue-flow and dagre
 * with the workflow editor and run view.
 */
import { createRouter, createWebHistory, type Router, type RouteRecordRaw } from 'vue-router';
import { useSessionStore } from '@/stores/session.store';

declare module 'vue-router' {
  interface RouteMeta {
    /** Signed-out visitors are sent to the login page. */
    requiresAuth?: boolean;
    /** Signed-in visitors skip this page (login, register). */
    guestOnly?: boolean;
    title?: string;
    /** The nav link a page belongs to, when its name is not the link's. */
    nav?: string;
  }
}

export const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('@/features/auth/LoginView.vue'), meta: { guestOnly: true, title: 'Sign in' } },
  { path: '/register', name: 'register', component: () => import('@/features/auth/RegisterView.vue'), meta: { guestOnly: true, title: 'Create account' } },
  {
    path: '/',
    component: () => import('@/layouts/AppShell.vue'),
    meta: { requiresAuth: true },
    children: [
      { path: '', name: 'overview', component: () => import('@/features/overview/OverviewView.vue'), meta: { requiresAuth: true, title: 'Overview' } },
      { path: 'tasks', name: 'tasks', component: () => import('@/features/tasks/TasksView.vue'), meta: { requiresAuth: true, title: 'Tasks' } },
      {
        path: 'tasks/:id',
        name: 'task',
        component: () => import('@/features/tasks/TaskDetailView.vue'),
        props: true,
        meta: { requiresAuth: true, title: 'Task' },
      },
      {
        path: 'workflows',
        name: 'workflows',
        component: () => import('@/features/workflows/WorkflowsView.vue'),
        meta: { requiresAuth: true, title: 'Workflows' },
      },
      {
        path: 'workflows/new',
        name: 'workflow-new',
        component: () => import('@/features/workflows/WorkflowEditorView.vue'),
        meta: { requiresAuth: true, title: 'New workflow', nav: 'workflows' },
      },
      {
        path: 'workflows/:id',
        name: 'workflow',
        component: () => import('@/features/workflows/WorkflowDetailView.vue'),
        props: true,
        meta: { requiresAuth: true, title: 'Workflow', nav: 'workflows' },
      },
      {
        path: 'workflows/:id/edit',
        name: 'workflow-edit',
        component: () => import('@/features/workflows/WorkflowEditorView.vue'),
        props: true,
        meta: { requiresAuth: true, title: 'Edit workflow', nav: 'workflows' },
      },
      {
        path: 'runs/:id',
        name: 'run',
        component: () => import('@/features/workflows/RunView.vue'),
        props: true,
        meta: { requiresAuth: true, title: 'Run', nav: 'workflows' },
      },
      { path: 'workers', name: 'workers', component: () => import('@/features/workers/WorkersView.vue'), meta: { requiresAuth: true, title: 'Workers' } },
      {
        path: 'workers/:id',
        name: 'worker',
        component: () => import('@/features/workers/WorkerDetailView.vue'),
        props: true,
        meta: { requiresAuth: true, title: 'Worker' },
      },
      { path: 'settings', name: 'settings', component: () => import('@/features/settings/SettingsView.vue'), meta: { requiresAuth: true, title: 'Settings' } },
    ],
  },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('@/features/NotFoundView.vue'), meta: { title: 'Not found' } },
];

export function createAppRouter(history = createWebHistory()): Router {
  const router = createRouter({ history, routes });

  router.beforeEach(async (to) => {
    const session = useSessionStore();
    if (session.status === 'unknown') {
      try {
        await session.restore();
      } catch {
        // Server unreachable: let guest pages render; protected pages go to login, which says so.
      }
    }
    if (to.meta.requiresAuth && !session.isAuthenticated) return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} };
    if (to.meta.guestOnly && session.isAuthenticated) return { name: 'overview' };
    return true;
  });

  router.afterEach((to) => {
    if (globalThis.document) document.title = to.meta.title ? `${to.meta.title} · Agentyard` : 'Agentyard';
  });

  return router;
}

/** Sends the user to the login page when the session ends while a protected page is open. */
export function returnToLoginWhenSessionEnds(router: Router): void {
  const session = useSessionStore();
  session.$subscribe(() => {
    const route = router.currentRoute.value;
    if (session.status === 'anonymous' && route.meta.requiresAuth) {
      void router.replace({ name: 'login', query: session.endedReason ? { redirect: route.fullPath } : {} });
    }
  });
}
