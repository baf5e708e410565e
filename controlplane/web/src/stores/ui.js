// Console-wide state: the storage banner, the phone layout, the language, and secrets of keys
// created in this tab (kept in memory only, so the agent page can fill them in; gone on reload).
import { defineStore } from 'pinia';

export const useUi = defineStore('ui', {
  state: () => ({
    storageDown: false,   // the daemon answered 503 storage_unavailable (Redis away)
    networkDown: false,   // the daemon could not be reached at all
    forbiddenAt: 0,
    freshSecrets: {},     // key id -> secret, only for keys created in this tab
  }),
  actions: {
    setStorage(state) {
      if (state === 'network') { this.networkDown = true; return; }
      this.storageDown = !!state;
      if (state === false) this.networkDown = false;
    },
    rememberSecret(id, secret) { this.freshSecrets = { ...this.freshSecrets, [id]: secret }; },
    forgetSecret(id) {
      const { [id]: _, ...rest } = this.freshSecrets;
      this.freshSecrets = rest;
    },
  },
});
