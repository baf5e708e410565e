// Who is logged in. The session itself is the HttpOnly cookie; this store keeps only what the
// daemon tells about it (user, role, must-change mark) and the CSRF token, in memory.
import { defineStore } from 'pinia';
import { api, setCsrf } from '../api.js';
import { useUi } from './ui.js';

export const useSession = defineStore('session', {
  state: () => ({
    loaded: false,     // GET /api/session has been asked once
    user: '',
    role: '',
    mustChange: false,
    expired: false,    // the last session ended under us (shown on the login page)
  }),
  getters: {
    loggedIn: (s) => !!s.user,
    isAdmin: (s) => s.role === 'admin',
  },
  actions: {
    apply(j) {
      this.user = j.user || this.user;
      this.role = j.role || this.role;
      this.mustChange = !!(j.must_change_password ?? j.must_change);
      setCsrf(j.csrf_token);
    },
    // Asks the daemon who we are (after a reload the cookie may still be valid).
    async load() {
      try {
        const j = await api.get('/api/session', { quiet401: true });
        this.apply(j);
        this.expired = false;
      } catch (e) {
        if (e.status !== 401) throw e;
        this.clear();
      } finally {
        this.loaded = true;
      }
    },
    async login(username, password) {
      const j = await api.post('/api/login', { username, password }, { quiet401: true });
      this.user = username;
      this.expired = false;
      this.apply(j);
      // The login answer carries the role; only a daemon older than that needs GET /api/session.
      if (!j.role) this.apply(await api.get('/api/session', { quiet401: true }));
      this.loaded = true;
    },
    async changePassword(oldPassword, newPassword) {
      await api.post('/api/password', { old_password: oldPassword, new_password: newPassword });
      this.mustChange = false;
    },
    async logout() {
      try { await api.post('/api/logout', {}, { quiet401: true }); } catch { /* gone already */ }
      this.clear();
    },
    clear() {
      this.user = '';
      this.role = '';
      this.mustChange = false;
      setCsrf('');
      useUi().freshSecrets = {};  // secrets of keys created in this tab go with the session
    },
  },
});
