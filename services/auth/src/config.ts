import { baseConfigSchema, databaseUrlSchema } from '@agentyard/service-kit';

export const authConfigSchema = baseConfigSchema.extend({ DATABASE_URL: databaseUrlSchema });
