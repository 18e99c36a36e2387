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
});
