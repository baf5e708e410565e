// Reactive "is this a phone-sized screen" (under 768 px wide).
import { onBeforeUnmount, ref } from 'vue';

export function useIsPhone() {
  const mq = window.matchMedia('(max-width: 767px)');
  const phone = ref(mq.matches);
  const on = (e) => { phone.value = e.matches; };
  mq.addEventListener('change', on);
  onBeforeUnmount(() => mq.removeEventListener('change', on));
  return phone;
}
