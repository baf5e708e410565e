// Live refresh: calls `fn` every `seconds` while the page is visible and the component mounted.
import { onBeforeUnmount, onMounted, ref, watch } from 'vue';

export function usePoll(fn, initialSeconds = 10) {
  const seconds = ref(initialSeconds);   // 0 = off
  const lastAt = ref(0);
  let timer = null;
  const tick = async () => {
    if (document.hidden) return;
    try { await fn(); lastAt.value = Date.now(); } catch { /* the page shows its own error */ }
  };
  const arm = () => {
    clearInterval(timer);
    timer = seconds.value > 0 ? setInterval(tick, seconds.value * 1000) : null;
  };
  const onVisible = () => { if (!document.hidden && seconds.value > 0) tick(); };
  onMounted(() => { arm(); document.addEventListener('visibilitychange', onVisible); });
  onBeforeUnmount(() => { clearInterval(timer); document.removeEventListener('visibilitychange', onVisible); });
  watch(seconds, arm);
  return { seconds, lastAt, refreshNow: tick };
}
