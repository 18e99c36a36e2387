/*
 * Secret references: how a task names a user's secret without carrying its value. A task's env
 * maps a variable to a plain string or to `{ "secret": "<name>" }`; only the name lands in the
 * task's events, views and JetStream. The value is fetched by the worker agent that runs the
 * task's current attempt (`POST /api/v1/workers/{id}/tasks/{taskId}/secrets`), over HTTP, and
 * goes into the process environment only. This part is shared with the agent (contracts/agent).
 */
import { z } from 'zod';
import { text } from '../common/text';

/** A secret's name: a letter or `_`, then up to 63 letters, digits and `_.-` (env-variable friendly). */
export const secretNamePattern = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

export const secretNameSchema = text().regex(secretNamePattern, 'a secret name is a letter or _, then up to 63 letters, digits and _.- (e.g. github_token)');

/** At most this many distinct secrets per task: each is fetched and masked by the agent. */
export const maxSecretRefsPerTask = 20;

/** `{ "secret": "gh" }`: the value of the task owner's secret `gh`, resolved on the worker. */
export const secretRefSchema = z.object({ secret: secretNameSchema }).strict();
export type SecretRef = z.infer<typeof secretRefSchema>;

/** An env value as a task states it: a plain string, or a reference to one of the owner's secrets. */
export type EnvValue = string | SecretRef;

/** True for `{ secret: name }` (already validated). */
export function isSecretRef(value: unknown): value is SecretRef {
  return typeof value === 'object' && value !== null && typeof (value as { secret?: unknown }).secret === 'string';
}

/** The workspace credential's secret name of a task input, if any. */
function credentialSecretOf(input: object): string | undefined {
  const workspace = (input as { workspace?: unknown }).workspace;
  if (typeof workspace !== 'object' || workspace === null) return undefined;
  const credentials = (workspace as { credentials?: unknown }).credentials;
  return isSecretRef(credentials) ? credentials.secret : undefined;
}

/**
 * The distinct secret names a task input references — its `env` and its `workspace.credentials`
 * — sorted; [] when it has none. The one list both the platform (which values a worker may have)
 * and the agent (what to fetch) go by.
 */
export function secretRefsOf(input: unknown): string[] {
  if (typeof input !== 'object' || input === null) return [];
  const names = new Set<string>();
  const env = (input as { env?: unknown }).env;
  if (typeof env === 'object' && env !== null) for (const value of Object.values(env)) if (isSecretRef(value)) names.add(value.secret);
  const credential = credentialSecretOf(input);
  if (credential !== undefined) names.add(credential);
  return [...names].sort();
}

/** The env variables (by name) that reference each secret, for error messages that point at the field. */
export function envVariablesReferencing(input: unknown, secret: string): string[] {
  const env = typeof input === 'object' && input !== null ? (input as { env?: unknown }).env : undefined;
  if (typeof env !== 'object' || env === null) return [];
  return Object.entries(env)
    .filter(([, v]) => isSecretRef(v) && v.secret === secret)
    .map(([k]) => k);
}

/** The input fields that reference a secret (`env.GH`, `workspace.credentials`), for error messages. */
export function fieldsReferencing(input: unknown, secret: string): string[] {
  const fields = envVariablesReferencing(input, secret).map((name) => `env.${name}`);
  if (typeof input === 'object' && input !== null && credentialSecretOf(input) === secret) fields.push('workspace.credentials');
  return fields;
}

/** Body of the agent's request for a task's secret values: the attempt it holds. */
export const taskSecretsRequestSchema = z
  .object({ attempt: z.number().int().min(1) })
  .strict()
  .meta({ id: 'TaskSecretsRequest' });
export type TaskSecretsRequest = z.infer<typeof taskSecretsRequestSchema>;

/** The values of the secrets a task references, by secret name. Sent to the running worker only. */
export const taskSecretsSchema = z.object({ values: z.record(text(), text()) }).meta({ id: 'TaskSecrets' });
export type TaskSecrets = z.infer<typeof taskSecretsSchema>;
