import { z } from 'zod';
import { baseConfigSchema, ConfigError, databaseUrlSchema, loadConfig } from './config';

const schema = baseConfigSchema.extend({ DATABASE_URL: databaseUrlSchema });

describe('loadConfig', () => {
  describe('when every variable is valid', () => {
    it('returns typed values with defaults filled in', () => {
      const config = loadConfig(schema, { DATABASE_URL: 'postgres://u@h/db', HTTP_PORT: '4000' });
      expect(config.HTTP_PORT).toBe(4000);
      expect(config.NATS_URL).toBe('nats://127.0.0.1:4222');
      expect(config.LOG_LEVEL).toBe('info');
    });
  });

  describe('when variables are wrong or missing', () => {
    it('throws one ConfigError naming each bad variable', () => {
      let error: unknown;
      try {
        loadConfig(schema, { HTTP_PORT: 'eighty', LOG_LEVEL: 'loud' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).toContain('HTTP_PORT');
      expect(message).toContain('LOG_LEVEL');
      expect(message).toContain('DATABASE_URL: is required');
    });

    it('rejects a NATS URL without a scheme', () => {
      expect(() => loadConfig(z.object({ NATS_URL: baseConfigSchema.shape.NATS_URL }), { NATS_URL: 'localhost:4222' })).toThrow(
        'NATS_URL: must look like nats://host:4222',
      );
    });
  });

  describe('TRUSTED_PROXIES', () => {
    it('trusts no proxy by default', () => {
      expect(loadConfig(baseConfigSchema, {}).TRUSTED_PROXIES).toEqual([]);
    });

    it('takes a comma-separated list of addresses and CIDRs', () => {
      expect(loadConfig(baseConfigSchema, { TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1,fd00::/8' }).TRUSTED_PROXIES).toEqual([
        '10.0.0.0/8',
        '127.0.0.1',
        'fd00::/8',
      ]);
    });

    it.each(['ingress.local', '10.0.0.0/33', '10.0.0.1/8/1', '*'])('refuses %s, naming it', (bad) => {
      expect(() => loadConfig(baseConfigSchema, { TRUSTED_PROXIES: bad })).toThrow(`TRUSTED_PROXIES: ${bad} is not an IP address or CIDR`);
    });
  });
});
