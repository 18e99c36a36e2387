/*
 * Subject and stream names. Every subject is built here so that publishers, consumers, NATS
 * permissions and JetStream stream filters agree. Shapes (brief §3):
 *   <context>.events.<kebab-event>[.<key>]   one JetStream stream per context (e.g. TASKS)
 *   <context>.commands.<kebab-command>       request/reply, core NATS
 *   <context>.queries.<kebab-query>          request/reply, core NATS
 *   work.assign.<workerId> work.output.<workerId>.<taskId> work.heartbeat.<workerId>
 */
export const contexts = ['auth', 'tasks', 'workers', 'workflows', 'allocation'] as const;
export type Context = (typeof contexts)[number];

/** `TaskQueued` → `task-queued`. */
export function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** JetStream stream that stores a context's events, e.g. `TASKS`. */
export function streamName(context: Context): string {
  return context.toUpperCase();
}

/** Subjects a context's stream captures. */
export function streamSubjects(context: Context): string[] {
  return [`${context}.events.>`];
}

/**
 * Event subject; the key (an aggregate id) lets consumers and permissions filter by entity, and
 * further keys narrow it more (a workflow task's events end with its run id).
 */
export function eventSubject(context: Context, eventType: string, key?: string, ...more: string[]): string {
  const base = `${context}.events.${kebab(eventType)}`;
  if (!key) return base;
  return [base, sanitizeToken(key), ...more.map(sanitizeToken)].join('.');
}

export function commandSubject(context: Context, command: string): string {
  return `${context}.commands.${kebab(command)}`;
}

export function querySubject(context: Context, query: string): string {
  return `${context}.queries.${kebab(query)}`;
}

/** Dead-letter subject for a consumer; captured by the `DLQ` stream, never by a context stream. */
export function deadLetterSubject(stream: string, consumer: string): string {
  return `dlq.${stream}.${consumer}`;
}
export const deadLetterStream = { name: 'DLQ', subjects: ['dlq.>'] } as const;

export const workSubjects = {
  assign: (workerId: string) => `work.assign.${sanitizeToken(workerId)}`,
  /** Live output of a task, under the id of the worker sending it (its NATS user may send only its own). */
  output: (workerId: string, taskId: string) => `work.output.${sanitizeToken(workerId)}.${sanitizeToken(taskId)}`,
  heartbeat: (workerId: string) => `work.heartbeat.${sanitizeToken(workerId)}`,
} as const;

/** A subject token may not contain `.`, `*`, `>` or whitespace. */
export function sanitizeToken(token: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error(`not a valid subject token: ${JSON.stringify(token)}`);
  return token;
}
