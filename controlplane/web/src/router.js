// Client-side routes (HTML5 history; the daemon answers index.html for these paths). Pages are
// loaded on demand, so the first load carries only the shell and the login page.
import { createRouter, createWebHistory } from 'vue-router';
import { useSession } from './stores/session.js';

const routes = [
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
  { path: '/password', name: 'password', component: () => import('./views/PasswordView.vue'), meta: { session: true } },
  {
    path: '/',
    component: () => import('./components/AppLayout.vue'),
    children: [
      { path: '', name: 'dashboard', component: () => import('./views/DashboardView.vue'), meta: { title: 'nav.dashboard' } },
      { path: 'providers', name: 'providers', component: () => import('./views/ProvidersView.vue'), meta: { title: 'nav.providers' } },
      { path: 'quota', name: 'quota', component: () => import('./views/QuotaView.vue'), meta: { title: 'nav.quota' } },
      { path: 'keys', name: 'keys', component: () => import('./views/KeysView.vue'), meta: { title: 'nav.keys' } },
      { path: 'alerts', name: 'alerts', component: () => import('./views/AlertsView.vue'), meta: { title: 'nav.alerts' } },
      { path: 'logs', name: 'logs', component: () => import('./views/LogsView.vue'), meta: { title: 'nav.logs' } },
      { path: 'settings', name: 'settings', component: () => import('./views/SettingsView.vue'), meta: { title: 'nav.settings' } },
      { path: 'agents', name: 'agents', component: () => import('./views/AgentsView.vue'), meta: { title: 'nav.agents' } },
    ],
  },
  { path: '/:rest(.*)*', redirect: '/' },
];

export const router = createRouter({ history: createWebHistory('/'), routes });

router.beforeEach(async (to) => {
  const s = useSession();
  if (!s.loaded) {
    try { await s.load(); } catch { /* Redis down: the banner says so; treat as logged out */ }
  }
  if (to.meta.public) return s.loggedIn && !s.mustChange && to.name === 'login' && !to.query.expired ? { name: 'dashboard' } : true;
  if (!s.loggedIn) return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} };
  if (s.mustChange && to.name !== 'password') return { name: 'password' };
  return true;
});
