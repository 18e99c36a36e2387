import { credsAuthenticator } from '@nats-io/transport-node';
import { createUser, decode, fromPublic } from '@nats-io/nkeys';
import { nativeCredsAuthenticator, parseCreds } from './creds-authenticator';

/** A creds file with a stand-in JWT and a real user seed. */
function credsText(jwt: string): { text: string; publicKey: string } {
  const user = createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const text = `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\nNKEY Seed printed below can be used to sign and prove identity.\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n\n*************************************************************\n`;
  return { text, publicKey: user.getPublicKey() };
}

describe('nativeCredsAuthenticator', () => {
  it('answers a nonce exactly as nats.js’s credsAuthenticator does: same JWT, public nkey and signature bytes', () => {
    const { text, publicKey } = credsText('eyJ0eXAiOiJKV1QifQ.e30.c2ln');
    for (const nonce of ['nonce-1', 'xq3DYmPpwDB-Ñ', '']) {
      const ours = nativeCredsAuthenticator(() => text)(nonce);
      const theirs = credsAuthenticator(new TextEncoder().encode(text))(nonce);
      expect(ours).toEqual(theirs);
      expect(ours).toMatchObject({ jwt: 'eyJ0eXAiOiJKV1QifQ.e30.c2ln', nkey: publicKey });
    }
  });

  it('signs so that the user’s public key verifies it, and a different nonce does not', () => {
    const { text, publicKey } = credsText('a.b.c');
    const auth = nativeCredsAuthenticator(() => text)('the-nonce') as { sig: string };
    const verifier = fromPublic(publicKey);
    expect(verifier.verify(new TextEncoder().encode('the-nonce'), decode(auth.sig))).toBe(true);
    expect(verifier.verify(new TextEncoder().encode('another'), decode(auth.sig))).toBe(false);
  });

  it('presents the newest creds at each call (renewed credentials), parsing each distinct file once', () => {
    const first = credsText('first.jwt.x');
    const second = credsText('second.jwt.y');
    let current = first.text;
    const auth = nativeCredsAuthenticator(() => current);
    expect(auth('n')).toMatchObject({ jwt: 'first.jwt.x', nkey: first.publicKey });
    current = second.text;
    expect(auth('n')).toMatchObject({ jwt: 'second.jwt.y', nkey: second.publicKey });
  });

  it('refuses creds without a seed block or with a corrupted seed, with a message that says so', () => {
    expect(() => parseCreds('-----BEGIN NATS USER JWT-----\na.b.c\n------END NATS USER JWT------\n')).toThrow(/unable to parse credentials/);
    const { text } = credsText('a.b.c');
    const corrupted = text.replace(/(-----BEGIN USER NKEY SEED-----\nSU)(.)/, (_, head: string, c: string) => `${head}${c === 'A' ? 'B' : 'A'}`);
    expect(() => parseCreds(corrupted)).toThrow();
  });
});
