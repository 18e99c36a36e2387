import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '@agentyard/service-kit';
import { authConfigSchema } from './config';

const base = { DATABASE_URL: 'postgres://u@h/auth' };

function problems(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig(authConfigSchema, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("auth's configuration", () => {
  it('decodes the secrets master key and the previous keys', () => {
    const key = randomBytes(32);
    const old = randomBytes(32);
    const config = loadConfig(authConfigSchema, {
      ...base,
      SECRETS_MASTER_KEY: key.toString('base64'),
      SECRETS_PREVIOUS_MASTER_KEYS: ` ${old.toString('base64')} ,`,
    });
    expect(config.SECRETS_MASTER_KEY.equals(key)).toBe(true);
    expect(config.SECRETS_PREVIOUS_MASTER_KEYS.map((k) => k.toString('hex'))).toEqual([old.toString('hex')]);
  });

  it('stops boot without a master key, saying how to make one', () => {
    expect(problems(base)).toEqual([
      { variable: 'SECRETS_MASTER_KEY', message: 'is required: 32 random bytes in base64 (`openssl rand -base64 32`) that encrypt user secrets' },
    ]);
  });

  it('stops boot on a malformed key without printing it', () => {
    const weak = 'my-very-secret-passphrase';
    const found = problems({ ...base, SECRETS_MASTER_KEY: weak, SECRETS_PREVIOUS_MASTER_KEYS: `${randomBytes(32).toString('base64')},${weak}` });
    expect(found.map((p) => p.variable)).toEqual(['SECRETS_MASTER_KEY', 'SECRETS_PREVIOUS_MASTER_KEYS']);
    expect(found[0]!.message).toMatch(/must be 32 random bytes in base64/);
    expect(found[1]!.message).toMatch(/^key 2: must be 32 random bytes/);
    expect(JSON.stringify(found)).not.toContain(weak);
  });
});
