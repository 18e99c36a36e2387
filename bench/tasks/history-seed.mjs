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
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pg = require('pg');

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TRACE_ID = /\b[0-9a-f]{32}\b/g;
const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g;
const ORDINALS_PER_TRANSACTION = 65_536;
// Transaction ids 0–2 are Postgres' own (invalid, bootstrap, frozen).
const FIRST_NORMAL_XID = 3;
/** Clones per INSERT statement: a few MB of JSON per table. */
const SUB_BATCH = 1_000;

const md5 = (s) => createHash('md5').update(s).digest('hex');
const asUuid = (h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;

/**
 * Clone n's id: a UUIDv7 of its time (so ids sort like the times, as real ones do) with bits
 * from md5('history-' || n) — the same id as the SQL seeder this replaced computed.
 */
function cloneId(n, atMs) {
  const h = Math.round(atMs).toString(16).padStart(12, '0');
  const r = md5(`history-${n}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-7${r.slice(0, 3)}-8${r.slice(3, 6)}-${r.slice(6, 18)}`;
}

/**
 * The function that rewrites a template text for one clone: every UUID of the template but the
 * kept ones (owner, workers) and the task id → md5(uuid || clone id) as a UUID, the task id → the
 * clone's id, every trace id → md5(trace || clone id), every ISO time → moved by the clone's shift.
 * One regular expression over the text, one pass (the SQL version chained a replace() per id and
 * per column, and seeded ~300 tasks/s on an idle 2-core machine; this is bound by the inserts).
 */
function rewriterFor({ taskId, keep }) {
  const pattern = new RegExp(`${UUID.source}|${TRACE_ID.source}|${ISO_TIME.source}`, 'g');
  return (text, clone) =>
    text.replace(pattern, (m) => {
      if (m.length === 36) return m === taskId ? clone.id : keep.has(m) ? m : asUuid(md5(m + clone.id));
      if (m.length === 32) return md5(m + clone.id);
      return new Date(Date.parse(m) + clone.shiftMs).toISOString();
    });
}

/** A template row (as to_jsonb text) cloned: text rewritten, timestamptz columns shifted. */
function cloneRow(rowText, timeColumns, rewrite, clone) {
  const row = JSON.parse(rewrite(rowText, clone));
  for (const c of timeColumns) if (row[c] != null) row[c] = new Date(Date.parse(row[c]) + clone.shiftMs).toISOString();
  return row;
}

async function columnsOf(db, schema, table) {
  const { rows } = await db.query(
    `select column_name as name, data_type as type from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position`,
    [schema, table],
  );
  return rows;
}

/** One table's template rows as to_jsonb text (timestamps in to_jsonb's own format, shifted per column). */
async function templateRows(db, table, where, params) {
  return (await db.query(`select to_jsonb(t)::text as row from ${table} t where ${where}`, params)).rows.map((r) => r.row);
}

/** `insert` of JSON rows: each column of the table that the rows carry, typed by the table itself. */
function insertSql(table, columns) {
  const names = columns.map((c) => c.name).join(', ');
  return `insert into ${table} (${names}) select ${names} from jsonb_populate_recordset(null::${table}, $1::jsonb)`;
}

/**
 * Seeds up to `count` clones of finished task `taskId` into the platform's tasks and allocation
 * databases, in chunks (one transaction id each), stopping early once `budgetMs` has passed; then
 * VACUUM ANALYZE both (as autovacuum would have by then). The clones are built here and inserted
 * `SUB_BATCH` tasks per statement through jsonb_populate_recordset, the next statement built while
 * the last one runs. Returns how many were seeded and how long it took.
 */
export async function seedHistory(databases, { taskId, count, budgetMs = 300_000, spanDays = 30, endsAt = Date.now() - 3_600_000, log = () => {} }) {
  const tasks = new pg.Client({ connectionString: databases.tasks });
  const alloc = new pg.Client({ connectionString: databases.allocation });
  await Promise.all([tasks.connect(), alloc.connect()]);
  try {
    const eventsOf = (db, streamId) => templateRows(db, 'event_store.events', 'stream_id = $1 order by position', [streamId]);
    const [taskEvents, allocEvents] = await Promise.all([eventsOf(tasks, `task-${taskId}`), eventsOf(alloc, `allocation-${taskId}`)]);
    if (taskEvents.length === 0 || allocEvents.length === 0)
      throw new Error(`template task ${taskId} has no events in tasks (${taskEvents.length}) or allocation (${allocEvents.length})`);
    const [view] = await templateRows(tasks, 'task_view', 'id = $1', [taskId]);
    const [allocRow] = await templateRows(alloc, 'tasks', 'task_id = $1', [taskId]);
    if (!view || !allocRow) throw new Error(`template task ${taskId} has no task_view or allocation row`);
    const [taskStream] = await templateRows(tasks, 'event_store.streams', 'stream_id = $1', [`task-${taskId}`]);
    const [allocStream] = await templateRows(alloc, 'event_store.streams', 'stream_id = $1', [`allocation-${taskId}`]);
    const workers = (await alloc.query('select worker_id from workers')).rows.map((r) => r.worker_id);
    const keep = new Set([JSON.parse(view).owner_id, ...workers]);
    const rewrite = rewriterFor({ taskId, keep });
    const t0 = Date.parse(JSON.parse(taskEvents[0]).occurred_at);

    const stepMs = (spanDays * 86_400_000) / count;
    const startMs = endsAt - count * stepMs;
    // One transaction id per chunk in each store, all below the store's first real event.
    const perChunk = Math.floor(ORDINALS_PER_TRANSACTION / Math.max(taskEvents.length, allocEvents.length));
    const chunks = Math.ceil(count / perChunk);
    const firstXid = async (db) => Number((await db.query('select min(transaction_id::text::bigint) as x from event_store.events')).rows[0].x);
    const [tasksXid, allocXid] = await Promise.all([firstXid(tasks), firstXid(alloc)]);
    const room = Math.min(tasksXid, allocXid) - FIRST_NORMAL_XID;
    if (room < chunks) throw new Error(`only ${room} transaction ids below the first real event, ${chunks} chunks needed: seed fewer`);

    const timeColumnsOf = (columns) => columns.filter((c) => c.type === 'timestamp with time zone').map((c) => c.name);
    const [taskEventColumns, allocEventColumns, taskStreamColumns, allocStreamColumns, viewColumns, allocColumns] = await Promise.all([
      columnsOf(tasks, 'event_store', 'events'),
      columnsOf(alloc, 'event_store', 'events'),
      columnsOf(tasks, 'event_store', 'streams'),
      columnsOf(alloc, 'event_store', 'streams'),
      columnsOf(tasks, 'public', 'task_view'),
      columnsOf(alloc, 'public', 'tasks'),
    ]);
    // global_position is the table's own insertion counter: each store numbers its clones itself.
    const withoutSerial = (columns) => columns.filter((c) => c.name !== 'global_position');
    const statements = {
      tasksEvents: insertSql('event_store.events', withoutSerial(taskEventColumns)),
      allocEvents: insertSql('event_store.events', withoutSerial(allocEventColumns)),
      tasksStreams: insertSql('event_store.streams', taskStreamColumns),
      allocStreams: insertSql('event_store.streams', allocStreamColumns),
      view: insertSql('task_view', viewColumns),
      alloc: insertSql('tasks', allocColumns),
    };
    const timeColumns = {
      events: timeColumnsOf(taskEventColumns),
      view: timeColumnsOf(viewColumns),
      alloc: timeColumnsOf(allocColumns),
    };

    /** The rows of clones [lo, hi) of chunk `xid` (whose first clone is `chunkLo`), per table. */
    const build = (xid, chunkLo, lo, hi) => {
      const out = { tasksEvents: [], allocEvents: [], tasksStreams: [], allocStreams: [], view: [], alloc: [] };
      for (let n = lo; n < hi; n++) {
        const atMs = startMs + n * stepMs;
        const clone = { id: cloneId(n, atMs), shiftMs: atMs - t0 };
        const events = (template, list, perTask) =>
          template.forEach((text, ord) => {
            const e = cloneRow(text, timeColumns.events, rewrite, clone);
            e.position = String(BigInt(xid) * BigInt(ORDINALS_PER_TRANSACTION) + BigInt((n - chunkLo) * perTask + ord));
            e.transaction_id = String(xid);
            list.push(e);
          });
        events(taskEvents, out.tasksEvents, taskEvents.length);
        events(allocEvents, out.allocEvents, allocEvents.length);
        out.tasksStreams.push(JSON.parse(rewrite(taskStream, clone)));
        out.allocStreams.push(JSON.parse(rewrite(allocStream, clone)));
        out.view.push(cloneRow(view, timeColumns.view, rewrite, clone));
        out.alloc.push(cloneRow(allocRow, timeColumns.alloc, rewrite, clone));
      }
      return out;
    };
    const insert = async (db, pairs) => {
      for (const [statement, rows] of pairs) await db.query(statement, [JSON.stringify(rows)]);
    };

    const started = performance.now();
    let seeded = 0;
    for (let c = 0; c < chunks && performance.now() - started < budgetMs; c++) {
      const lo = c * perChunk;
      const hi = Math.min(count, lo + perChunk);
      const xid = FIRST_NORMAL_XID + c;
      await Promise.all([tasks.query('begin'), alloc.query('begin')]);
      let inFlight = Promise.resolve();
      for (let sub = lo; sub < hi; sub += SUB_BATCH) {
        const rows = build(xid, lo, sub, Math.min(hi, sub + SUB_BATCH)); // built while the previous statements run
        await inFlight;
        // The two databases in parallel: two connections, two cores.
        inFlight = Promise.all([
          insert(tasks, [
            [statements.tasksEvents, rows.tasksEvents],
            [statements.tasksStreams, rows.tasksStreams],
            [statements.view, rows.view],
          ]),
          insert(alloc, [
            [statements.allocEvents, rows.allocEvents],
            [statements.allocStreams, rows.allocStreams],
            [statements.alloc, rows.alloc],
          ]),
        ]);
      }
      await inFlight;
      await Promise.all([tasks.query('commit'), alloc.query('commit')]);
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
