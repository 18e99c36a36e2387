/*
 * How a worker agent registers and heartbeats: the part of the worker contracts the agent needs,
 * kept apart from the events and views so the agent does not build every worker schema.
 */
import { z } from 'zod';
import { uuidSource } from '../common/ids';
import { text } from '../common/text';
import { toolNameSchema } from '../tasks/tool-input.schemas';

/** Whether allocation may place a task on the tool: its latest check passed (present is implied by being listed). */
export const toolHealthSchema = z.enum(['healthy', 'unhealthy']);
export type ToolHealth = z.infer<typeof toolHealthSchema>;

/**
 * What the tool's credentials check found: `ok` the API accepted them, `refused` it turned the key
 * down (401/403, Gemini's API_KEY_INVALID), `missing` it wants a key and none is configured,
 * `unknown` not checked (no credentials to check, the API unreachable, or it has no cheap check).
 */
export const toolAuthSchema = z.enum(['ok', 'missing', 'refused', 'unknown']);
export type ToolAuth = z.infer<typeof toolAuthSchema>;

/** Longest `detail` a worker may report (it ends up in allocation's reasons and on the dashboard). */
export const toolDetailMaxLength = 160;

/** Most model ids a worker reports per tool: a longer list is reported as unknown (absent), never cut. */
export const toolModelsMaxCount = 200;
/** Longest model id a worker reports (a longer one is left out of the list). */
export const toolModelIdMaxLength = 200;
/** A reportable model id: printable ASCII without spaces (`claude-sonnet-4-5`, `models/gemini-2.5-pro` less its prefix, `llama3:8b`). */
export const toolModelIdPattern = /^[\x21-\x7e]+$/;

/**
 * One tool as a worker reports it. `health`/`auth` are absent from agents older than the fields
 * (and from events they wrote): such an agent listed a tool only once it ran, so it reads as
 * healthy with unchecked credentials, and an old agent still registers and heartbeats.
 */
export const workerToolSchema = z.object({
  name: toolNameSchema,
  version: text().max(100).nullable(),
  health: toolHealthSchema.default('healthy'),
  auth: toolAuthSchema.default('unknown'),
  /** Why it is unhealthy or what the check could not tell, in a few words (never the key). */
  detail: text().max(toolDetailMaxLength).optional(),
  /**
   * The model ids the tool's vendor or server offers (its models list), when the agent knows
   * them: the chat tools. Absent or null = unknown (the CLIs, which take aliases; older agents;
   * a list longer than toolModelsMaxCount) — allocation then does not judge a task's model.
   */
  models: z
    .array(text().min(1).max(toolModelIdMaxLength).regex(toolModelIdPattern, 'a model id is printable ASCII without spaces'))
    .max(toolModelsMaxCount)
    .nullable()
    .optional(),
});
export type WorkerTool = z.infer<typeof workerToolSchema>;

export const workerResourcesSchema = z.object({
  cpus: z.number().int().min(1),
  memoryMb: z.number().int().min(1),
  diskMb: z.number().int().min(0),
});
export type WorkerResources = z.infer<typeof workerResourcesSchema>;

export const labelSchema = text().regex(/^[a-z0-9][a-z0-9_.:-]{0,62}$/, 'labels are lower-case letters, digits and _.:-');

export const createRegistrationTokenBodySchema = z
  .object({
    /** How many workers may register with it. Default 1 (single use). */
    uses: z.number().int().min(1).max(1000).default(1),
    /** Lifetime in seconds. Default 1 hour. */
    ttlSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600)
      .default(3600),
    labels: z.array(labelSchema).max(20).default([]),
  })
  .strict()
  .meta({ id: 'CreateRegistrationTokenBody' });
export type CreateRegistrationTokenBody = z.infer<typeof createRegistrationTokenBodySchema>;

export const registrationTokenSchema = z
  .object({
    id: text(),
    /** Shown once: `ayr_<id>.<secret>`. */
    token: text(),
    expiresAt: text(),
    usesLeft: z.number().int(),
    /** A command that starts a worker with this token, to paste on the machine. */
    installCommand: text(),
  })
  .meta({ id: 'RegistrationToken' });
export type RegistrationToken = z.infer<typeof registrationTokenSchema>;

/** `ayr_` + uuid + `.` + 43 base64url chars. */
export const registrationTokenPattern = new RegExp(`^ayr_${uuidSource}\\.[A-Za-z0-9_-]{43}$`);
/** `ayw_` + uuid + `.` + 43 base64url chars. */
export const workerCredentialPattern = new RegExp(`^ayw_${uuidSource}\\.[A-Za-z0-9_-]{43}$`);

export const registerWorkerBodySchema = z
  .object({
    token: text().regex(registrationTokenPattern, 'token is not a registration token (expected ayr_…)'),
    name: text()
      .min(1)
      .max(100)
      .regex(/^[\w.@ -]+$/, 'name may use letters, digits, space and _.@-'),
    hostname: text().max(255),
    platform: text().max(50),
    arch: text().max(50),
    tools: z.array(workerToolSchema).max(20),
    slots: z.number().int().min(1).max(256),
    resources: workerResourcesSchema,
    labels: z.array(labelSchema).max(20).default([]),
    agentVersion: text().max(50),
  })
  .strict()
  .meta({ id: 'RegisterWorkerBody' });
export type RegisterWorkerBody = z.infer<typeof registerWorkerBodySchema>;

export const workerRegistrationSchema = z
  .object({
    workerId: text(),
    /** Shown once: `ayw_<id>.<secret>`; send as `Authorization: Worker <credential>`. */
    credential: text(),
    natsUrl: text(),
    heartbeatIntervalMs: z.number().int(),
  })
  .meta({ id: 'WorkerRegistration' });
export type WorkerRegistration = z.infer<typeof workerRegistrationSchema>;

/**
 * A worker's NATS credentials (`POST /workers/{id}/nats-credentials`, worker auth): a credentials
 * file's content (user JWT + seed) valid until `expiresAt`, letting the agent use only its own
 * subjects, and the inbox prefix its connection must use for replies. All null when the platform's
 * NATS runs without authentication. The agent fetches them at start and again before they expire.
 */
export const workerNatsCredentialsSchema = z
  .object({
    creds: text().nullable(),
    expiresAt: text().nullable(),
    inboxPrefix: text().nullable(),
  })
  .meta({ id: 'WorkerNatsCredentials' });
export type WorkerNatsCredentials = z.infer<typeof workerNatsCredentialsSchema>;

/**
 * How a worker agent keeps its tasks away from itself (its credential, its NATS user, its memory)
 * and from each other: `bubblewrap` = each task in a sandbox (own pid/mount namespaces, state
 * hidden; as root also under its own uid), `task-user` = each task under its own unprivileged
 * uid, `none` = tasks run as the agent's own user and could read its credential. Allocation gives
 * a worker that is not isolated (or does not say) only tasks of its owners.
 */
export const workerIsolationSchema = z.enum(['bubblewrap', 'task-user', 'none']);
export type WorkerIsolation = z.infer<typeof workerIsolationSchema>;

export const heartbeatSchema = z
  .object({
    workerId: text(),
    sentAt: text(),
    cpuPercent: z.number().min(0).max(100),
    memUsedMb: z.number().int().min(0),
    memTotalMb: z.number().int().min(0),
    diskFreeMb: z.number().int().min(0),
    diskTotalMb: z.number().int().min(0),
    slots: z.object({ total: z.number().int().min(0), used: z.number().int().min(0) }),
    running: z.array(z.object({ taskId: text(), attempt: z.number().int() })).max(256),
    tools: z.array(workerToolSchema).max(20),
    draining: z.boolean(),
    /** Absent from agents older than the field: treated as `none`. */
    isolation: workerIsolationSchema.optional(),
    /**
     * The agent's version, in every heartbeat: an agent restarted with its stored credential does
     * not register again, so registration alone would keep the version it first had. Absent from
     * agents older than the field (the registered version stands).
     */
    agentVersion: text().max(50).optional(),
  })
  .meta({ id: 'Heartbeat' });
export type Heartbeat = z.infer<typeof heartbeatSchema>;
