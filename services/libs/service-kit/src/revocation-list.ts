/*
 * Revoked ids (access-token ids, or session families) in a NATS KV bucket whose TTL equals the access-token lifetime, so an
 * entry lives exactly as long as the token it blocks and the bucket never grows without bound.
 * Bucket-level TTL (`max_age`) works on nats-server 2.9; per-key TTL does not (platform-notes).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, KvWatchInclude, type KV } from '@nats-io/kv';

/** The shape of a token or session family id; anything else counts as revoked. */
export function isRevocableId(id: string): boolean {
  return /^[A-Za-z0-9_-]{1,100}$/.test(id);
}

export class RevocationList {
  private constructor(private readonly kv: KV) {}

  /** Opens (creating when absent) the bucket; `ttlMs` must be ≥ the access-token lifetime. */
  static async open(nc: NatsConnection, bucket: string, ttlMs: number): Promise<RevocationList> {
    const kv = await new Kvm(nc).create(bucket, { ttl: ttlMs, history: 1 });
    const status = await kv.status();
    if (status.ttl < ttlMs) throw new Error(`KV bucket ${bucket} has TTL ${status.ttl} ms, below the ${ttlMs} ms tokens live`);
    return new RevocationList(kv);
  }

  /** Revokes an id (a token id or a session family id). */
  async revoke(id: string): Promise<void> {
    await this.kv.put(id, String(Date.now()));
  }

  /** True when the token id is revoked and its entry has not expired (asks the bucket). */
  async isRevoked(jti: string): Promise<boolean> {
    if (!isRevocableId(jti)) return true;
    const entry = await this.kv.get(jti);
    return entry !== null && entry.operation === 'PUT';
  }

  /**
   * Calls `onEntry` with every id in the bucket (each one's last entry), then with each one revoked
   * from now on, with the entry's revision (its sequence in the bucket's stream). After a
   * reconnect the watch resumes after the last revision it delivered. Resolves once the watch is in
   * place, with a function that stops it.
   */
  follow(onEntry: (entry: { id: string; revision: number }) => void): Promise<() => void> {
    return this.puts(KvWatchInclude.LastValue, onEntry);
  }

  /** The revision of the bucket's newest entry, or 0 when it holds none (all of them expired). */
  async lastRevision(): Promise<number> {
    const { state } = (await this.kv.status()).streamInfo;
    return state.messages === 0 ? 0 : state.last_seq;
  }

  /**
   * Calls `onRevoked` with each id revoked from now on (not the ones already in the bucket).
   * Resolves once the watch is in place, with a function that stops it.
   */
  watch(onRevoked: (id: string) => void): Promise<() => void> {
    return this.puts(KvWatchInclude.UpdatesOnly, ({ id }) => onRevoked(id));
  }

  /** One KV watch over the bucket's PUTs (`include` says from where); resolves with its stop. */
  private async puts(include: KvWatchInclude, onPut: (entry: { id: string; revision: number }) => void): Promise<() => void> {
    const entries = await this.kv.watch({ include, ignoreDeletes: true });
    void (async () => {
      for await (const entry of entries) if (entry.operation === 'PUT') onPut({ id: entry.key, revision: entry.revision });
    })();
    return () => entries.stop();
  }
}
