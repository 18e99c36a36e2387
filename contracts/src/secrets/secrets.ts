/*
 * User secrets, owned by the auth service: named values (tokens, keys) a user stores once and
 * tasks reference by name (`{"secret": "gh"}` in their env, secret-ref.ts). Values are encrypted at
 * rest (AES-256-GCM), never listed, never in an event or a log line: the API shows names and
 * dates, the events carry the name and owner, and the value leaves auth only for the worker that
 * runs the current attempt of a task referencing it.
 */
import { z } from 'zod';
import { commandSubject, querySubject } from '../common/subjects';
import { defineEvent, EventRegistry } from '../common/versioning';
import { secretNameSchema } from './secret-ref';

export * from './secret-ref';

/** Largest secret value, in UTF-8 bytes. */
export const secretValueMaxBytes = 32 * 1024;
/** Secrets one user may hold. */
export const maxSecretsPerUser = 200;

const utf8Bytes = (s: string): number => new TextEncoder().encode(s).length;

export const secretValueSchema = z
  .string()
  .min(1, 'value is required')
  .refine((v) => utf8Bytes(v) <= secretValueMaxBytes, `value must be at most ${secretValueMaxBytes / 1024} KiB`)
  // An environment variable cannot hold a NUL byte: the process would see a truncated value.
  .refine((v) => !v.includes('\0'), 'value may not contain NUL bytes');

export const createSecretBodySchema = z.object({ name: secretNameSchema, value: secretValueSchema }).strict().meta({ id: 'CreateSecretBody' });
export type CreateSecretBody = z.infer<typeof createSecretBodySchema>;

export const updateSecretBodySchema = z.object({ value: secretValueSchema }).strict().meta({ id: 'UpdateSecretBody' });
export type UpdateSecretBody = z.infer<typeof updateSecretBodySchema>;

/** What the API shows of a secret: never its value. */
export const secretSchema = z
  .object({
    name: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Secret' });
export type Secret = z.infer<typeof secretSchema>;

export const secretListSchema = z.object({ items: z.array(secretSchema) }).meta({ id: 'SecretList' });
export type SecretList = z.infer<typeof secretListSchema>;

// Messages (gateway → auth) ----------------------------------------------------------------------

export const secretSubjects = {
  create: commandSubject('auth', 'CreateSecret'),
  update: commandSubject('auth', 'UpdateSecret'),
  delete: commandSubject('auth', 'DeleteSecret'),
  list: querySubject('auth', 'ListSecrets'),
  /** `{ userId, names }` → `{ missing }`: which of the names the user has no secret for (task creation). */
  findMissing: querySubject('auth', 'FindMissingSecrets'),
  /**
   * `{ userId, names, task }` → TaskSecrets, or NOT_FOUND naming the deleted ones. Only the gateway
   * asks, and only after the tasks service confirmed the worker holds the task's current attempt.
   */
  resolve: querySubject('auth', 'ResolveSecrets'),
} as const;

export const createSecretCommandSchema = z.object({ userId: z.string(), body: createSecretBodySchema });
export const updateSecretCommandSchema = z.object({ userId: z.string(), name: secretNameSchema, body: updateSecretBodySchema });
export const secretRefCommandSchema = z.object({ userId: z.string(), name: secretNameSchema });
export const listSecretsQuerySchema = z.object({ userId: z.string() });
export const findMissingSecretsQuerySchema = z.object({ userId: z.string(), names: z.array(secretNameSchema).max(100) });
export const missingSecretsSchema = z.object({ missing: z.array(z.string()) });
export const resolveSecretsQuerySchema = z.object({
  userId: z.string(),
  names: z.array(secretNameSchema).min(1).max(100),
  /** For the audit event: which task, attempt and worker the values went to. */
  task: z.object({ taskId: z.string().max(64), attempt: z.number().int().min(1), workerId: z.string().max(64) }),
});
export type ResolveSecretsQuery = z.infer<typeof resolveSecretsQuerySchema>;

// Events (auth's stream `user-<id>`): names and owner, never a value ----------------------------

export const secretCreatedV1 = defineEvent('SecretCreated', 1, z.object({ userId: z.string(), name: z.string() }));
export const secretUpdatedV1 = defineEvent('SecretUpdated', 1, z.object({ userId: z.string(), name: z.string() }));
export const secretDeletedV1 = defineEvent('SecretDeleted', 1, z.object({ userId: z.string(), name: z.string() }));
/** Values were handed to a worker for a task's attempt: the audit trail of who read what. */
export const secretsResolvedV1 = defineEvent(
  'SecretsResolved',
  1,
  z.object({ userId: z.string(), names: z.array(z.string()), taskId: z.string(), attempt: z.number().int(), workerId: z.string() }),
);

export const secretEvents = new EventRegistry().register(secretCreatedV1, secretUpdatedV1, secretDeletedV1, secretsResolvedV1);
