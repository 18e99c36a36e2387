/*
 * Auth's own database (brief §2: no other service reads it). Users, refresh-token families and
 * tokens, the EdDSA signing key, and users' encrypted secrets. Migrations are in code (kysely
 * Migrator over a map), so the compiled service needs no migration files on disk.
 */
import { Kysely, Migrator, PostgresDialect, sql, type Generated, type Migration, type MigrationProvider } from 'kysely';
import { openPool } from '@agentyard/event-store';

export interface UsersTable {
  id: string;
  username: string;
  email: string;
  password_hash: string;
  created_at: Generated<Date>;
  password_changed_at: Generated<Date>;
}

export interface RefreshFamiliesTable {
  id: string;
  user_id: string;
  created_at: Generated<Date>;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

export interface RefreshTokensTable {
  id: string;
  family_id: string;
  user_id: string;
  secret_hash: string;
  created_at: Generated<Date>;
  expires_at: Date;
  used_at: Date | null;
}

export interface SigningKeysTable {
  kid: string;
  private_key_pem: string;
  public_key_pem: string;
  created_at: Generated<Date>;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  scopes: string[];
  secret_hash: string;
  created_at: Generated<Date>;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** A user's secret, encrypted (secret-cipher.ts): the value never sits here in clear. */
export interface SecretsTable {
  user_id: string;
  name: string;
  /** Fingerprint of the master key that sealed the value (rotation). */
  key_id: string;
  nonce: Buffer;
  /** AES-256-GCM ciphertext with its 16-byte tag appended. */
  ciphertext: Buffer;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface AuthDatabase {
  users: UsersTable;
  secrets: SecretsTable;
  api_tokens: ApiTokensTable;
  refresh_families: RefreshFamiliesTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
}

const migrations: Record<string, Migration> = {
  '2026-11-28-001-users-and-sessions': {
    async up(db) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('password_changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      // Uniqueness is case-insensitive: `Alice` and `alice` are one account.
      await sql`create unique index users_username_lower on users (lower(username))`.execute(db);
      await sql`create unique index users_email_lower on users (lower(email))`.execute(db);
      await db.schema
        .createTable('refresh_families')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('revoked_at', 'timestamptz')
        .addColumn('revoked_reason', 'text')
        .execute();
      await db.schema.createIndex('refresh_families_user').on('refresh_families').column('user_id').execute();
      await db.schema
        .createTable('refresh_tokens')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('family_id', 'uuid', (c) => c.notNull().references('refresh_families.id').onDelete('cascade'))
        .addColumn('user_id', 'uuid', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('used_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('refresh_tokens_family').on('refresh_tokens').column('family_id').execute();
      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('private_key_pem', 'text', (c) => c.notNull())
        .addColumn('public_key_pem', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  '2026-11-28-002-api-tokens': {
    async up(db) {
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('scopes', sql`text[]`, (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('expires_at', 'timestamptz')
        .addColumn('last_used_at', 'timestamptz')
        .addColumn('revoked_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('api_tokens_user').on('api_tokens').columns(['user_id', 'created_at']).execute();
    },
  },
  '2026-12-04-003-secrets': {
    async up(db) {
      await db.schema
        .createTable('secrets')
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('nonce', 'bytea', (c) => c.notNull())
        .addColumn('ciphertext', 'bytea', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('secrets_pkey', ['user_id', 'name'])
        .execute();
      // Rotation finds the rows still sealed with an older key.
      await db.schema.createIndex('secrets_key_id').on('secrets').column('key_id').execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Opens a kysely instance on auth's database. */
export function openAuthDatabase(connectionString: string, max = 10): Kysely<AuthDatabase> {
  // A connection that dies (server restart) fails its queries, never the process.
  return new Kysely<AuthDatabase>({ dialect: new PostgresDialect({ pool: openPool({ connectionString, max }) }) });
}

/** Brings auth's schema up to date; throws with the failing migration's name. */
export async function migrateAuthDatabase(db: Kysely<AuthDatabase>): Promise<void> {
  const { error, results } = await new Migrator({
    db,
    provider,
    migrationTableName: 'auth_migrations',
    migrationLockTableName: 'auth_migrations_lock',
  }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`auth migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
