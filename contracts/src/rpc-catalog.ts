/*
 * The catalog of request/reply subjects: one entry per subject with its request and response
 * schemas (common/rpc.ts). The gateway calls `rpc.call(rpcCatalog.tasks.create, body)`; the
 * service's handler listens on the same entry's subject and parses with its request schema.
 * Covered so far: the tasks context's task subjects (taskSubjects); the other contexts still
 * use their `*Subjects` objects directly. services/tasks/test/rpc-catalog.unit.spec.ts checks
 * that every entry has a handler and every task handler has an entry.
 */
import { z } from 'zod';
import { defineRpc } from './common/rpc';
import { text } from './common/text';
import {
  createTaskCommandSchema,
  listTasksCommandSchema,
  pullTaskQuerySchema,
  taskPageSchema,
  taskRefCommandSchema,
  taskSecretRefsQuerySchema,
  taskSecretRefsSchema,
  taskSubjects,
  taskViewSchema,
  updateTaskCommandSchema,
  usageQueryCommandSchema,
  usageReportSchema,
} from './tasks/task.schemas';
import { assignmentSchema } from './work/work.schemas';

/** A task's stored events, as the history query answers them: passed on as stored (loose: the store's own shape). */
const taskHistorySchema = z.object({ items: z.array(z.looseObject({ id: text(), type: text(), streamVersion: z.number() })) });

export const rpcCatalog = {
  tasks: {
    create: defineRpc(taskSubjects.create, createTaskCommandSchema, taskViewSchema),
    update: defineRpc(taskSubjects.update, updateTaskCommandSchema, taskViewSchema),
    cancel: defineRpc(taskSubjects.cancel, taskRefCommandSchema, taskViewSchema),
    retry: defineRpc(taskSubjects.retry, taskRefCommandSchema, taskViewSchema),
    delete: defineRpc(taskSubjects.delete, taskRefCommandSchema, z.object({ taskId: text(), deleted: z.literal(true) })),
    get: defineRpc(taskSubjects.get, taskRefCommandSchema, taskViewSchema),
    list: defineRpc(taskSubjects.list, listTasksCommandSchema, taskPageSchema),
    history: defineRpc(taskSubjects.history, taskRefCommandSchema, taskHistorySchema),
    pull: defineRpc(taskSubjects.pull, pullTaskQuerySchema, assignmentSchema.nullable()),
    secretRefs: defineRpc(taskSubjects.secretRefs, taskSecretRefsQuerySchema, taskSecretRefsSchema),
    usage: defineRpc(taskSubjects.usage, usageQueryCommandSchema, usageReportSchema),
  },
} as const;
