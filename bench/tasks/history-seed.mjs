// Seeds a running platform with finished tasks in bulk, straight into the tasks and allocation
// databases (event stores and read models), for the "flat with history" benchmark.
//
// Each seeded task is a clone of one real task the platform ran (the template): every row the
// template left — its events in both event stores, their `streams` rows, its `task_view` row and
// allocation's `tasks` row — is copied with the task id, the ids of its events, its allocation id
// and trace ids replaced (consistently across both databases, so a TaskAssigned's causation still
// names its AllocationDecided), and every timestamp moved by the same shift. Owner and worker ids
// are kept: the history belongs to the bench user and ran on the bench agents. Cloning rows
// instead of writing them by hand keeps the seed right as event types and columns change.
//
// Positions follow the store's rule (position = transaction id · 2¹⁶ + ordinal, log-position.ts):
// each chunk of clones carries one transaction id, taken from the range *below* the first real
// event of that store (a fresh cluster starts near 800), with dense ordinals. So the seeded events
// sit before everything the services have read: every projection's and relay's checkpoint is
// already past them, nothing replays or republishes them, and the services keep running while the
// seed goes in. The history is spread over the `spanDays` before `endsAt` (default: the 30 days up
// to an hour ago), oldest first in position order.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pg = require('pg');

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TRACE_ID = /\b[0-9a-f]{32}\b/g;
const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g;
const ORDINALS_PER_TRANSACTION = 65_536;
// Transaction ids 0–2 are Postgres' own (invalid, bootstrap, frozen).
const FIRST_NORMAL_XID = 3;

const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

/**
 * The SQL expression that rewrites text `expr` of the template into the clone of row `g`. Each
 * replacement value is computed once per clone (column `g.r<i>`, see clonesSql), not once per
 * template row and column.
 */
function mapper(replacements) {
  return (expr) => replacements.reduce((acc, [from], i) => `replace(${acc}, ${lit(from)}, g.r${i})`, expr);
}

/** Every id and time in the template's rows that a clone must not share with it. */
function replacementsOf(texts, { taskId, keep }) {
  const all = texts.join('\n');
  const out = new Map([[taskId, 'g.id']]);
  for (const u of new Set(all.match(UUID) ?? [])) if (!keep.has(u) && !out.has(u)) out.set(u, `md5(${lit(u)} || g.id)::uuid::text`);
  for (const t of new Set(all.match(TRACE_ID) ?? [])) out.set(t, `md5(${lit(t)} || g.id)`);
  for (const ts of new Set(all.match(ISO_TIME) ?? [])) {
    out.set(ts, `to_char((${lit(ts)}::timestamptz + g.shift) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
  }
  return [...out];
}

/**
 * The clones n ∈ [lo, hi): id (a UUIDv7 of its time), shift of its times from the template's, and
 * the value `r<i>` of each replacement.
 */
function clonesSql({ lo, hi, startMs, stepMs, t0, replacements }) {
  const values = replacements.map(([, to], i) => `${to} as r${i}`).join(', ');
  return `(select *, ${values} from (select n, id, at, at - ${lit(t0)}::timestamptz as shift from (
      select n, at,
        substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-8' || substr(r, 4, 3) || '-' || substr(r, 7, 12) as id
      from (select n, to_timestamp((${startMs}::float8 + n * ${stepMs}::float8) / 1000) as at,
                   lpad(to_hex((${startMs}::float8 + n * ${stepMs}::float8)::bigint), 12, '0') as h,
                   md5('history-' || n) as r
            from generate_series(${lo}, ${hi - 1}) as n) x) y) g) g`;
}

async function columnsOf(db, table) {
  const { rows } = await db.query(
    `select column_name as name, data_type as type from information_schema.columns where table_schema = 'public' and table_name = $1 order by ordinal_position`,
    [table],
  );
  return rows;
}

/** `insert into <table> select <clone of the template row>` for a read-model table. */
function cloneRowSql(table, columns, idColumn, taskId, map, clones) {
  const select = columns.map(({ name, type }) => {
    if (name === idColumn) return 'g.id';
    if (type === 'timestamp with time zone') return `t.${name} + g.shift`;
    if (type === 'jsonb') return `${map(`t.${name}::text`)}::jsonb`;
    if (type === 'text') return map(`t.${name}`);
    return `t.${name}`;
  });
  return `insert into ${table} (${columns.map((c) => c.name).join(', ')})
    select ${select.join(', ')} from ${clones} cross join (select * from ${table} where ${idColumn} = ${lit(taskId)}) t`;
}

/** `insert` of the clones' events and streams rows, one transaction id per chunk. */
function cloneEventsSql(streamId, perTask, xid, lo, map, clones) {
  return [
    `insert into event_store.events (position, transaction_id, stream_id, stream_version, event_id, type, version, data, metadata, occurred_at)
      select (${xid}::bigint * ${ORDINALS_PER_TRANSACTION}) + (g.n - ${lo}) * ${perTask} + t.ord, '${xid}'::xid8, ${map('t.stream_id')}, t.stream_version,
             ${map('t.event_id::text')}::uuid, t.type, t.version, ${map('t.data::text')}::jsonb, ${map('t.metadata::text')}::jsonb, t.occurred_at + g.shift
      from ${clones}
      cross join (select *, row_number() over (order by position) - 1 as ord from event_store.events where stream_id = ${lit(streamId)}) t`,
    `insert into event_store.streams (stream_id, version) select ${map('s.stream_id')}, s.version from ${clones} cross join event_store.streams s where s.stream_id = ${lit(streamId)}`,
  ];
}

async function templateOf(db, streamId) {
  const { rows } = await db.query(
    'select event_id::text, stream_id, data::text, metadata::text, occurred_at from event_store.events where stream_id = $1 order by position',
    [streamId],
  );
  return rows;
}

/**
 * Seeds up to `count` clones of finished task `taskId` into the platform's tasks and allocation
 * databases, in chunks, stopping early once `budgetMs` has passed; then VACUUM ANALYZE both (as
 * autovacuum would have by then). Returns how many were seeded and how long it took.
 */
export async function seedHistory(databases, { taskId, count, budgetMs = 300_000, spanDays = 30, endsAt = Date.now() - 3_600_000, log = () => {} }) {
  const tasks = new pg.Client({ connectionString: databases.tasks });
  const alloc = new pg.Client({ connectionString: databases.allocation });
  await Promise.all([tasks.connect(), alloc.connect()]);
  try {
    const taskEvents = await templateOf(tasks, `task-${taskId}`);
    const allocEvents = await templateOf(alloc, `allocation-${taskId}`);
    if (taskEvents.length === 0 || allocEvents.length === 0)
      throw new Error(`template task ${taskId} has no events in tasks (${taskEvents.length}) or allocation (${allocEvents.length})`);
    const view = (await tasks.query('select to_jsonb(t)::text as row, owner_id from task_view t where id = $1', [taskId])).rows[0];
    const allocRow = (await alloc.query('select to_jsonb(t)::text as row from tasks t where task_id = $1', [taskId])).rows[0];
    if (!view || !allocRow) throw new Error(`template task ${taskId} has no task_view or allocation row`);
    const workers = (await alloc.query('select worker_id from workers')).rows.map((r) => r.worker_id);
    const keep = new Set([view.owner_id, ...workers]);
    const t0 = taskEvents[0].occurred_at.toISOString();
    const texts = [...taskEvents, ...allocEvents].flatMap((e) => [e.event_id, e.data, e.metadata]).concat(view.row, allocRow.row);
    const replacements = replacementsOf(texts, { taskId, keep });
    const map = mapper(replacements);

    const stepMs = (spanDays * 86_400_000) / count;
    const startMs = endsAt - count * stepMs;
    // One transaction id per chunk in each store, all below the store's first real event.
    const perChunk = Math.floor(ORDINALS_PER_TRANSACTION / Math.max(taskEvents.length, allocEvents.length));
    const chunks = Math.ceil(count / perChunk);
    const firstXid = async (db) => Number((await db.query('select min(transaction_id::text::bigint) as x from event_store.events')).rows[0].x);
    const [tasksXid, allocXid] = await Promise.all([firstXid(tasks), firstXid(alloc)]);
    const room = Math.min(tasksXid, allocXid) - FIRST_NORMAL_XID;
    if (room < chunks) throw new Error(`only ${room} transaction ids below the first real event, ${chunks} chunks needed: seed fewer`);

    const [viewColumns, allocColumns] = await Promise.all([columnsOf(tasks, 'task_view'), columnsOf(alloc, 'tasks')]);
    const started = performance.now();
    let seeded = 0;
    for (let c = 0; c < chunks && performance.now() - started < budgetMs; c++) {
      const lo = c * perChunk;
      const hi = Math.min(count, lo + perChunk);
      const clones = clonesSql({ lo, hi, startMs, stepMs, t0, replacements });
      const xid = FIRST_NORMAL_XID + c;
      const run = async (db, statements) => {
        await db.query('begin');
        for (const s of statements) await db.query(s);
        await db.query('commit');
      };
      // The two databases in parallel: two connections, two cores.
      await Promise.all([
        run(tasks, [
          ...cloneEventsSql(`task-${taskId}`, taskEvents.length, xid, lo, map, clones),
          cloneRowSql('task_view', viewColumns, 'id', taskId, map, clones),
        ]),
        run(alloc, [
          ...cloneEventsSql(`allocation-${taskId}`, allocEvents.length, xid, lo, map, clones),
          cloneRowSql('tasks', allocColumns, 'task_id', taskId, map, clones),
        ]),
      ]);
      seeded = hi;
      log(`seeded ${seeded.toLocaleString('en')} / ${count.toLocaleString('en')} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    const seedMs = performance.now() - started;
    // What autovacuum would have done long before a history this old: visibility map (index-only
    // scans) and planner statistics.
    const v0 = performance.now();
    await Promise.all([tasks.query('vacuum analyze'), alloc.query('vacuum analyze')]);
    const vacuumMs = performance.now() - v0;
    const maxSeededPosition = BigInt(FIRST_NORMAL_XID + Math.ceil(seeded / perChunk)) * BigInt(ORDINALS_PER_TRANSACTION);
    return { seeded, seedMs, vacuumMs, eventsPerTask: taskEvents.length + allocEvents.length, maxSeededPosition };
  } finally {
    await Promise.all([tasks.end(), alloc.end()]);
  }
}

/** Every checkpoint in the tasks and allocation stores, with whether it lies past `position`. */
export async function checkpointsPast(databases, position) {
  const out = [];
  for (const name of ['tasks', 'allocation']) {
    const db = new pg.Client({ connectionString: databases[name] });
    await db.connect();
    try {
      for (const r of (await db.query('select name, position from event_store.checkpoints')).rows)
        out.push({ db: name, name: r.name, past: BigInt(r.position) >= position });
    } finally {
      await db.end();
    }
  }
  return out;
}
