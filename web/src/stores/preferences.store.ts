/** Per-browser preferences (theme), saved in localStorage; index.html applies the theme before first paint. */
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';

export type ThemeChoice = 'dark' | 'light' | 'system';
const storageKey = 'agentyard.preferences';

function load(): { theme: ThemeChoice } {
  try {
    const v = JSON.parse(globalThis.localStorage?.getItem(storageKey) ?? '{}') as { theme?: unknown };
    return { theme: v.theme === 'dark' || v.theme === 'light' ? v.theme : 'system' };
  } catch {
    return { theme: 'system' };
  }
}

export const usePreferencesStore = defineStore('preferences', () => {
  const theme = ref<ThemeChoice>(load().theme);
  const media = globalThis.matchMedia?.('(prefers-color-scheme: dark)');
  const systemDark = ref(media?.matches ?? false);
  media?.addEventListener?.('change', (e) => (systemDark.value = e.matches));

  const resolvedTheme = computed<'dark' | 'light'>(() => (theme.value === 'system' ? (systemDark.value ? 'dark' : 'light') : theme.value));

  watch(
    [theme, resolvedTheme],
    () => {
      globalThis.localStorage?.setItem(storageKey, JSON.stringify({ theme: theme.value }));
      if (globalThis.document) document.documentElement.dataset.theme = resolvedTheme.value;
    },
    { immediate: true },
  );

  return { theme, resolvedTheme };
});
