/*
 * The signed-in user's personal API tokens. The list never holds a secret: create() returns the
 * CreatedApiToken (with `token`) to the caller, which shows it once, and keeps only the public
 * fields here. Tested in api-tokens.store.unit.spec.ts.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { createApiToken, listApiTokens, revokeApiToken, type ApiToken, type CreateApiTokenBody, type CreatedApiToken } from '@/api/api-tokens';
import { ApiError } from '@/api/client';
import { useSessionStore } from './session.store';

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export const useApiTokenStore = defineStore('apiTokens', () => {
  const session = useSessionStore();

  const items = ref<ApiToken[]>([]);
  const loaded = ref(false);
  const loading = ref(false);
  /** Why the last fetch failed, for the list's alert. */
  const error = ref<string | null>(null);
  /** Ids being revoked, so their buttons can show progress. */
  const revoking = ref<string[]>([]);

  async function fetch(): Promise<void> {
    loading.value = true;
    try {
      items.value = await listApiTokens(session.api);
      error.value = null;
      loaded.value = true;
    } catch (e) {
      error.value = messageOf(e);
    } finally {
      loading.value = false;
    }
  }

  /** Creates a token; the returned value carries the secret, which is not kept. Throws ApiError. */
  async function create(body: CreateApiTokenBody): Promise<CreatedApiToken> {
    const created = await createApiToken(session.api, body);
    const listed: ApiToken = {
      id: created.id,
      name: created.name,
      scopes: created.scopes,
      createdAt: created.createdAt,
      expiresAt: created.expiresAt,
      lastUsedAt: created.lastUsedAt,
    };
    items.value = [listed, ...items.value.filter((t) => t.id !== created.id)];
    return created;
  }

  /** Revokes a token and drops it from the list. Throws ApiError (a 404 counts as done). */
  async function revoke(id: string): Promise<void> {
    revoking.value = [...revoking.value, id];
    try {
      await revokeApiToken(session.api, id);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    } finally {
      revoking.value = revoking.value.filter((x) => x !== id);
    }
    items.value = items.value.filter((t) => t.id !== id);
  }

  function reset(): void {
    items.value = [];
    loaded.value = false;
    error.value = null;
  }

  return { items, loaded, loading, error, revoking, fetch, create, revoke, reset };
});
