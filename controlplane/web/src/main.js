import { createApp } from 'vue';
import { createPinia } from 'pinia';
// Styles of the Element Plus services called from code (the template components get theirs from
// the on-demand resolver).
import 'element-plus/es/components/message/style/css';
import 'element-plus/es/components/message-box/style/css';
import 'element-plus/es/components/notification/style/css';
import 'element-plus/es/components/loading/style/css';
import 'element-plus/theme-chalk/el-overlay.css';
import 'dayjs/locale/zh-cn';
import App from './App.vue';
import { router } from './router.js';
import { i18n } from './i18n/index.js';
import { setHooks } from './api.js';
import { useSession } from './stores/session.js';
import { useUi } from './stores/ui.js';
import './style.css';

const app = createApp(App);
const pinia = createPinia();
app.use(pinia).use(i18n).use(router);

const session = useSession(pinia);
const ui = useUi(pinia);
let redirecting = false;
setHooks({
  onUnauthenticated() {
    // Several calls may fail at once: the first one that finds us logged in marks it "expired".
    if (session.loggedIn) {
      session.clear();
      session.expired = true;
    }
    const cur = router.currentRoute.value;
    if (cur.name !== 'login' && !redirecting) {
      redirecting = true;
      router.replace({ name: 'login', query: { expired: session.expired ? '1' : undefined, next: cur.fullPath !== '/' ? cur.fullPath : undefined } })
        .finally(() => { redirecting = false; });
    }
  },
  onPasswordChange() {
    session.mustChange = true;
    if (router.currentRoute.value.name !== 'password') router.replace({ name: 'password' });
  },
  onStorage(state) { ui.setStorage(state); },
  onForbidden() { ui.forbiddenAt = Date.now(); },
});

app.mount('#app');
