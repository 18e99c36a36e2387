/*
 * Encryption of user secrets at rest: AES-256-GCM with a fresh random 96-bit nonce per value and
 * the master key from configuration (SECRETS_MASTER_KEY, 32 bytes in base64). Each sealed value
 * stores the id of the key that sealed it, so the key can be rotated: the new key seals, older
 * keys (SECRETS_PREVIOUS_MASTER_KEYS) still open, and auth re-seals old rows at boot
 * (SecretsHandler.rewrap) until none is left under an old key.
 *
 * The additional authenticated data binds a value to its owner and name, so a row copied onto
 * another user or another name in the database does not decrypt. Tested in
 * secret-cipher.unit.spec.ts.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const algorithm = 'aes-256-gcm';
const nonceBytes = 12;
const tagBytes = 16;

/** A value as stored: which key sealed it, the nonce, and ciphertext with the GCM tag appended. */
export interface SealedSecret {
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

/** The value cannot be opened: unknown key, or ciphertext/context tampered with. Never carries the value. */
export class SecretUnreadable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretUnreadable';
  }
}

const base64Key = /^[A-Za-z0-9+/]{43}=$|^[A-Za-z0-9_-]{43}$/;

/** Decodes a 32-byte master key from base64 (standard or url-safe); throws a message naming what is wrong, never the key. */
export function parseMasterKey(text: string): Buffer {
  const trimmed = text.trim();
  if (!base64Key.test(trimmed)) {
    throw new Error('must be 32 random bytes in base64 (44 characters, e.g. the output of `openssl rand -base64 32`)');
  }
  return Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** A key's id: a short fingerprint, stored beside each value it seals (reveals nothing of the key). */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('agentyard-secrets-key-id\0').update(key).digest('hex').slice(0, 16);
}

/** The context a value is bound to: its owner and name. */
export function secretContext(userId: string, name: string): string {
  return `agentyard-secret:v1:${userId}:${name}`;
}

export class SecretCipher {
  private readonly keys: Map<string, Buffer>;
  /** Id of the key new values are sealed with. */
  readonly currentKeyId: string;

  /** `current` seals and opens; each of `previous` only opens (rotation). */
  constructor(current: Buffer, previous: Buffer[] = []) {
    for (const key of [current, ...previous]) if (key.length !== 32) throw new Error('a secrets master key must be 32 bytes');
    this.currentKeyId = keyIdOf(current);
    this.keys = new Map([...previous.map((k) => [keyIdOf(k), k] as const), [this.currentKeyId, current]]);
  }

  /** Encrypts `plaintext` bound to `context`, with a fresh random nonce. */
  seal(plaintext: string, context: string): SealedSecret {
    const key = this.keys.get(this.currentKeyId)!;
    const nonce = randomBytes(nonceBytes);
    const cipher = createCipheriv(algorithm, key, nonce, { authTagLength: tagBytes });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return { keyId: this.currentKeyId, nonce, ciphertext };
  }

  /** Decrypts a sealed value for `context`; throws SecretUnreadable when the key is unknown or anything was altered. */
  open(sealed: SealedSecret, context: string): string {
    const key = this.keys.get(sealed.keyId);
    if (!key) throw new SecretUnreadable(`sealed with key ${sealed.keyId}, which this service does not have (add it to SECRETS_PREVIOUS_MASTER_KEYS)`);
    if (sealed.nonce.length !== nonceBytes || sealed.ciphertext.length < tagBytes) throw new SecretUnreadable('the stored value is malformed');
    const body = sealed.ciphertext.subarray(0, sealed.ciphertext.length - tagBytes);
    const tag = sealed.ciphertext.subarray(sealed.ciphertext.length - tagBytes);
    const decipher = createDecipheriv(algorithm, key, sealed.nonce, { authTagLength: tagBytes });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnreadable('the stored value does not authenticate (altered, or moved to another owner or name)');
    }
  }

  /** Ids of every key this cipher can open with, the current one included. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** True when the value is sealed with an older key and should be sealed again with the current one. */
  isStale(sealed: Pick<SealedSecret, 'keyId'>): boolean {
    return sealed.keyId !== this.currentKeyId;
  }
}
