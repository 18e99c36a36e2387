/*
 * The Postgres event store's schema, as kysely migrations held in code (no files loaded at run
 * time). Everything lives in its own Postgres schema (default `event_store`) so a service can keep
 * its own tables in the same database, and write both in one transaction (the outbox).
 *
 * `append_to_stream` does the whole append in one statement (one round trip): idempotent-retry
 * check, optimistic-concurrency step on `streams`, position assignment, insert. See log-position.ts
 * for why `position`, not `global_position`, is the order readers deliver.
 */
import { Migrator, sql, type Kysely, type Migration } from 'kysely';
import { ORDINAL_BITS } from './log-position';

/** Default Postgres schema of the store's tables. */
export const DEFAULT_EVENT_STORE_SCHEMA = 'event_store';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

/** Throws unless `schema` is a plain lower-case identifier (it is spliced into SQL and a channel name). */
export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid event store schema name ${JSON.stringify(schema)}: use [a-z_][a-z0-9_]*, at most 48 characters`);
  }
}

/** The transaction-local setting that counts the ordinals a transaction has used in `schema`. */
function ordinalSetting(schema: string): string {
  return `${schema}.next_ordinal`;
}

/** The LISTEN/NOTIFY channel the store announces new events on. */
export function appendChannel(schema: string): string {
  return `${schema}_appended`;
}

function initialSchema(s: string): string {
  const slots = `${1n << ORDINAL_BITS}`;
  const maxTx = `${(1n << (63n - ORDINAL_BITS)) - 1n}`;
  return `
-- No CHECK constraints on the hot tables: Postgres re-reads their expressions on every statement.
create table ${s}.streams (
  stream_id text primary key,
  version bigint not null
);

create table ${s}.events (
  -- Read order: transaction_id * 2^${ORDINAL_BITS} + ordinal within the transaction (log-position.ts).
  position bigint primary key,
  -- Insertion order. Not visibility order: never resume from it.
  global_position bigserial not null,
  transaction_id xid8 not null default pg_current_xact_id(),
  stream_id text not null,
  stream_version bigint not null,
  event_id uuid not null constraint events_event_id_unique unique,
  type text not null,
  version integer not null,
  data jsonb not null,
  metadata jsonb not null,
  occurred_at timestamptz not null,
  constraint events_stream_version_unique unique (stream_id, stream_version)
);

create table ${s}.checkpoints (
  name text primary key,
  position bigint not null,
  updated_at timestamptz not null default now()
);

-- When every event of p_events is stored in p_stream_id, in that order: ('stored', version after
-- that append, its last position). When only some are, or elsewhere: ('duplicate', null, null).
create function ${s}.find_stored_append(p_stream_id text, p_events jsonb)
returns table (o_status text, o_version bigint, o_position bigint)
language sql stable as $fn$
  select case
           when count(e.event_id) = jsonb_array_length(p_events)
                and bool_and(e.stream_id = p_stream_id)
                and max(e.stream_version - b.ord) = min(e.stream_version - b.ord)
           then 'stored' else 'duplicate' end,
         max(e.stream_version),
         max(e.position)
  from jsonb_array_elements(p_events) with ordinality as b(value, ord)
  left join ${s}.events e on e.event_id = (b.value->>'id')::uuid
$fn$;

-- Appends p_events (a JSON array of {id,type,version,data,metadata,occurredAt}) to p_stream_id.
-- p_expected: 'any' | 'no_stream' | 'stream_exists' | a decimal stream version ('0' = no stream).
-- Returns ('appended' | 'stored', stream version after the append, position of its last event),
-- ('conflict', actual stream version, null) with nothing written, or ('duplicate', null, null).
-- plpgsql rather than one CTE statement: its plans stay cached per connection, a CTE sent through
-- kysely is planned again on every call (≈2 ms, more than the append itself).
create function ${s}.append_to_stream(p_stream_id text, p_expected text, p_events jsonb, p_notify boolean,
  out o_status text, out o_version bigint, out o_position bigint)
language plpgsql as $fn$
declare
  v_count bigint := jsonb_array_length(p_events);
  v_first_id uuid := (p_events->0->>'id')::uuid;
  v_base bigint;
  v_next bigint;
  v_ignored text;
begin
  -- A retry of an append that committed (its reply was lost) is answered, not appended again.
  -- With an exact or 'no_stream' expectation a retry always conflicts, so it is recognised on
  -- that (rare) path below and the common path skips this probe.
  if p_expected = 'any' or p_expected = 'stream_exists' then
    if exists (select 1 from ${s}.events where event_id = v_first_id) then
      select f.o_status, f.o_version, f.o_position into o_status, o_version, o_position
        from ${s}.find_stored_append(p_stream_id, p_events) f;
      return;
    end if;
  end if;

  -- Optimistic concurrency: the streams row is the lock. Two appends at one expected version
  -- queue on it; the second re-checks after the first commits and matches nothing.
  if p_expected = 'any' then
    insert into ${s}.streams as st (stream_id, version) values (p_stream_id, v_count)
      on conflict (stream_id) do update set version = st.version + v_count
      returning st.version into o_version;
  elsif p_expected = 'no_stream' or p_expected = '0' then
    insert into ${s}.streams (stream_id, version) values (p_stream_id, v_count)
      on conflict (stream_id) do nothing
      returning version into o_version;
  elsif p_expected = 'stream_exists' then
    update ${s}.streams set version = version + v_count where stream_id = p_stream_id
      returning version into o_version;
  else
    update ${s}.streams set version = version + v_count
      where stream_id = p_stream_id and version = p_expected::bigint
      returning version into o_version;
  end if;

  if o_version is null then
    -- A retry whose original committed (maybe while we waited for the row lock) lands here.
    if exists (select 1 from ${s}.events where event_id = v_first_id) then
      select f.o_status, f.o_version, f.o_position into o_status, o_version, o_position
        from ${s}.find_stored_append(p_stream_id, p_events) f;
      return;
    end if;
    o_status := 'conflict';
    o_version := coalesce((select version from ${s}.streams where stream_id = p_stream_id), 0);
    return;
  end if;

  v_base := pg_current_xact_id()::text::bigint;
  if v_base > ${maxTx} then
    raise exception 'transaction id % too large for a 64-bit event position', v_base using errcode = 'program_limit_exceeded';
  end if;
  v_base := v_base * ${slots};
  -- Ordinals this transaction used so far, in a transaction-local setting (a savepoint rollback
  -- rolls it back with the rows). Ordinals are dense from 0, so should the setting ever be lost
  -- mid-transaction the next append collides with the primary key instead of misordering.
  v_next := coalesce(nullif(current_setting('${ordinalSetting(s)}', true), ''), '0')::bigint;
  if v_next + v_count > ${slots} then
    raise exception 'one transaction may append at most ${slots} events' using errcode = 'program_limit_exceeded';
  end if;
  v_ignored := set_config('${ordinalSetting(s)}', (v_next + v_count)::text, true); -- an assignment, not PERFORM: no executor start
  v_next := v_base + v_next;

  insert into ${s}.events (position, stream_id, stream_version, event_id, type, version, data, metadata, occurred_at)
  select v_next + e.ord - 1, p_stream_id, o_version - v_count + e.ord, e.id, e.type, e.version, e.data, e.metadata, e.occurred_at
  from rows from (jsonb_to_recordset(p_events)
         as (id uuid, type text, version integer, data jsonb, metadata jsonb, "occurredAt" timestamptz))
       with ordinality as e(id, type, version, data, metadata, occurred_at, ord);

  if p_notify then
    perform pg_notify('${appendChannel(s)}', '');
  end if;
  o_status := 'appended';
  o_position := v_next + v_count - 1;
end
$fn$;
`;
}

/** Most appends one `append_batch` call takes: each is a subtransaction, and Postgres keeps 64 per backend in shared memory before it overflows to pg_subtrans (slower snapshots for everyone). */
export const MAX_APPENDS_PER_BATCH = 64;

// Group commit (postgres-event-store.ts, group-commit.ts): several appends, to any streams, in one
// statement and one transaction. Each item runs append_to_stream in its own BEGIN … EXCEPTION block
// (a subtransaction), so its expected-version check, idempotent-retry answer and conflict are its
// own, and an error rolls back that item alone: it comes back as ('retry', null, null, sqlstate)
// and the caller appends it again on its own, where the error surfaces exactly as without batching.
// The positions stay transaction_id * 2^16 + ordinal: a subtransaction's rows carry the top-level
// transaction's id and its ordinal counter (a transaction-local setting) rolls back with it.
function appendBatchFunction(s: string): string {
  return `
create or replace function ${s}.append_batch(p_items jsonb)
returns table (o_index integer, o_status text, o_version bigint, o_position bigint, o_sqlstate text)
language plpgsql as $fn$
declare
  v_item jsonb;
  v_index integer;
begin
  for v_item, v_index in select i.value, i.ordinality::integer from jsonb_array_elements(p_items) with ordinality as i loop
    o_index := v_index;
    o_sqlstate := null;
    begin
      select a.o_status, a.o_version, a.o_position into o_status, o_version, o_position
        from ${s}.append_to_stream(v_item->>'s', v_item->>'x', v_item->'v', false) a;
    exception when others then
      o_status := 'retry';
      o_version := null;
      o_position := null;
      o_sqlstate := sqlstate;
    end;
    return next;
  end loop;
end
$fn$;
`;
}

// Fenced group commit (PostgresEventStore.fenced): the lease check and the batch in one statement,
// so a fenced append costs one round trip and one commit instead of four statements (begin, the
// check, the append, commit), and concurrent fenced appends share them. The lease row is read FOR
// SHARE before anything is written, in the same transaction, exactly as assertLeaseCurrent does:
// an acquisition bumping the epoch waits for this commit, and this statement, waiting for an
// acquisition, re-reads the row and finds the new epoch. A lease not current at that epoch
// answers one row (index 0, status 'lease_lost') and writes nothing.
function appendFencedFunction(s: string): string {
  return `
create or replace function ${s}.append_fenced(p_lease text, p_epoch bigint, p_items jsonb)
returns table (o_index integer, o_status text, o_version bigint, o_position bigint, o_sqlstate text)
language plpgsql as $fn$
begin
  perform 1 from ${s}.leases
    where name = p_lease and epoch = p_epoch and holder is not null and expires_at > clock_timestamp()
    for share;
  if not found then
    o_index := 0;
    o_status := 'lease_lost';
    return next;
    return;
  end if;
  return query select * from ${s}.append_batch(p_items);
end
$fn$;
`;
}

/** The store's migrations for one schema name, oldest first (names sort in apply order). */
export function eventStoreMigrations(schema: string): Record<string, Migration> {
  assertSchemaName(schema);
  return {
    '0001_events_streams_checkpoints': {
      up: async (db) => {
        await sql.raw(initialSchema(schema)).execute(db);
      },
      down: async (db) => {
        await sql.raw(`drop schema ${schema} cascade`).execute(db);
      },
    },
    // Leases with a fencing epoch (postgres-leases.ts): one row per lease, e.g. `tasks-leader`.
    // `holder` is null once released; `epoch` only ever grows (bumped by each acquisition).
    '0002_leases': {
      up: async (db) => {
        await sql.raw(`create table ${schema}.leases (name text primary key, holder text, epoch bigint not null, expires_at timestamptz not null)`).execute(db);
      },
      down: async (db) => {
        await sql.raw(`drop table ${schema}.leases`).execute(db);
      },
    },
    // Group commit: several appends in one statement and one commit (appendBatchFunction).
    '0003_append_batch': {
      up: async (db) => {
        await sql.raw(appendBatchFunction(schema)).execute(db);
      },
      down: async (db) => {
        await sql.raw(`drop function ${schema}.append_batch(jsonb)`).execute(db);
      },
    },
    // Fenced group commit: the lease check and the batch in one statement (appendFencedFunction).
    '0004_append_fenced': {
      up: async (db) => {
        await sql.raw(appendFencedFunction(schema)).execute(db);
      },
      down: async (db) => {
        await sql.raw(`drop function ${schema}.append_fenced(text, bigint, jsonb)`).execute(db);
      },
    },
  };
}

/** Creates or upgrades the event store's tables in `schema` (default `event_store`). Safe to run at every boot. */
export async function migrateEventStore<DB>(db: Kysely<DB>, options: { schema?: string } = {}): Promise<void> {
  const schema = options.schema ?? DEFAULT_EVENT_STORE_SCHEMA;
  const migrations = eventStoreMigrations(schema);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: schema,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`event store migration${failed ? ` ${failed}` : ''} failed in schema ${schema}: ${String(error)}`, { cause: error });
  }
}
