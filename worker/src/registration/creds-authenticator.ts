/*
 * The NATS authenticator for a user creds file (JWT + nkey seed), signing the server's nonce with
 * Node's own Ed25519 instead of nats.js's pure-JavaScript one (tweetnacl). The agent runs
 * interpreter-only (`--lite-mode`), where tweetnacl takes ~250 ms per signature on an idle
 * machine and seconds on a loaded one — past nats-server's authentication deadline (2 s), which
 * then drops the connection (EPIPE) before it authenticates. Natively it is well under 1 ms.
 *
 * The output is exactly nats.js's `credsAuthenticator`'s: Ed25519 is deterministic, so the
 * signature bytes are the same (creds-authenticator.unit.spec.ts compares them).
 */
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import type { Authenticator } from '@nats-io/transport-node';
import { encode } from '@nats-io/nkeys';
// The seed's decoder (base32, prefix and CRC checked) is not in the package's index; the version
// is pinned in the root package.json, and the unit test fails if this path changes.
import { Codec } from '@nats-io/nkeys/lib/codec';

/** A creds file's blocks: `-----BEGIN …-----\n<value>\n------END …------` (the JWT, then the seed). */
const CREDS_BLOCK = /\s*(?:[-]{3,}[^\n]*[-]{3,}\n)(.+)(?:\n\s*[-]{3,}[^\n]*[-]{3,}\n)/gi;

/** PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows it (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

interface ParsedCreds {
  jwt: string;
  nkey: string;
  key: KeyObject;
}

/** The JWT, the public nkey and a native signing key of a creds file; throws on anything else. */
export function parseCreds(creds: string): ParsedCreds {
  const blocks = [...creds.matchAll(CREDS_BLOCK)].map((m) => m[1]!.trim());
  if (blocks.length < 2) throw new Error('unable to parse credentials: a JWT and a seed block expected');
  const [jwt, seed] = blocks as [string, string];
  const { prefix, buf } = Codec.decodeSeed(new TextEncoder().encode(seed));
  if (buf.length !== 32) throw new Error('unable to parse credentials: the seed is not an Ed25519 seed');
  const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, buf]), format: 'der', type: 'pkcs8' });
  // The public nkey natively too (nkeys' fromSeed derives it in JavaScript, as slow as a signature):
  // the raw key is the last 32 bytes of its SPKI DER.
  const raw = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
  return { jwt, nkey: new TextDecoder().decode(Codec.encode(prefix, raw)), key };
}

/** An authenticator presenting the creds `current()` returns at each (re)connect (parsed once per distinct creds). */
export function nativeCredsAuthenticator(current: () => string): Authenticator {
  let cached: { creds: string; parsed: ParsedCreds } | undefined;
  return (nonce?: string) => {
    const creds = current();
    if (cached?.creds !== creds) cached = { creds, parsed: parseCreds(creds) };
    const { jwt, nkey, key } = cached.parsed;
    const sig = nonce ? encode(sign(null, Buffer.from(nonce, 'utf8'), key)) : '';
    return { jwt, nkey, sig };
  };
}
