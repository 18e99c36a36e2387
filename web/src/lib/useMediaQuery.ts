/** A ref that follows a CSS media query (phone-width layouts). */
import { onBeforeUnmount, ref } from 'vue';

export function useMediaQuery(query: string) {
  const media = globalThis.matchMedia?.(query);
  const matches = ref(media?.matches ?? false);
  const onChange = (e: MediaQueryListEvent) => (matches.value = e.matches);
  media?.addEventListener?.('change', onChange);
  onBeforeUnmount(() => media?.removeEventListener?.('change', onChange));
  return matches;
}
