/**
 * Sets `key` in `map` as its newest entry and drops the oldest entries beyond `limit`: the
 * bounded caches of the edge (verified tokens, API-token answers, ownership) keep memory flat
 * whatever the traffic. A Map iterates in insertion order, so the first key is the oldest.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > limit) map.delete(map.keys().next().value as K);
}
