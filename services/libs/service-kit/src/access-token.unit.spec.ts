import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { AccessTokenVerifier, type PublicKeyEntry } from './access-token';

const issuer = 'agentyard-auth';
const audience = 'agentyard';

function keyPair(kid: string): { kid: string; privateKey: KeyObject; entry: PublicKeyEntry } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { kid, privateKey, entry: { kid, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() } };
}

function sign(key: { kid: string; privateKey: KeyObject }, jti: string, expiresInSeconds = 900, fam?: string): Promise<string> {
  return new SignJWT(fam ? { username: 'ann', fam } : { username: 'ann' })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
    .setSubject('user-1')
    .setJti(jti)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
    .sign(key.privateKey);
}

describe('AccessTokenVerifier', () => {
  const first = keyPair('k1');
  const second = keyPair('k2');
  let served: PublicKeyEntry[];
  let revoked: Set<string>;
  let revokedFamilies: Set<string>;
  let verifier: AccessTokenVerifier;

  beforeEach(() => {
    served = [first.entry];
    revoked = new Set();
    revokedFamilies = new Set();
    verifier = new AccessTokenVerifier({
      issuer,
      audience,
      loadKeys: async () => served,
      isRevoked: async (jti) => revoked.has(jti),
      isFamilyRevoked: async (fam) => revokedFamilies.has(fam),
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it('verifies a token, and again from memory with the same claims', async () => {
    const token = await sign(first, 't1');
    const claims = await verifier.verify(token);
    expect(claims).toMatchObject({ sub: 'user-1', jti: 't1', username: 'ann' });
    await expect(verifier.verify(token)).resolves.toEqual(claims);
  });

  it('still checks a remembered token for revocation on every request', async () => {
    const token = await sign(first, 't2');
    await verifier.verify(token);
    revoked.add('t2');
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/revoked/) });
  });

  it('rejects a remembered token once it has expired', async () => {
    const token = await sign(first, 't3', 60);
    await verifier.verify(token);
    const later = Date.now() + 61_000;
    jest.spyOn(Date, 'now').mockReturnValue(later);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/expired/) });
  });

  it('no longer trusts a remembered token whose key the auth service stopped serving', async () => {
    const old = await sign(first, 't4');
    await verifier.verify(old);
    served = [second.entry]; // k1 rotated out; a k2 token makes the verifier reload the keys
    await verifier.verify(await sign(second, 't5'));
    await expect(verifier.verify(old)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/unknown key/) });
  });

  it('does not remember a token it refused', async () => {
    const token = await sign(first, 't6');
    revoked.add('t6');
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    revoked.delete('t6'); // say the revocation was a mistake and is lifted
    await expect(verifier.verify(token)).resolves.toMatchObject({ jti: 't6' });
  });

  it('refuses every token of a revoked session family, remembered or new, and leaves other families alone', async () => {
    const remembered = await sign(first, 't7', 900, 'fam-a');
    await verifier.verify(remembered);
    const other = await sign(first, 't8', 900, 'fam-b');
    revokedFamilies.add('fam-a');
    await expect(verifier.verify(remembered)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/signed out/) });
    await expect(verifier.verify(await sign(first, 't9', 900, 'fam-a'))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(verifier.verify(other)).resolves.toMatchObject({ fam: 'fam-b' });
  });
});
