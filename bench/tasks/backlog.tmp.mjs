import { createRequire } from 'node:module';
import { api, sleep, startBenchPlatform, root } from './bench-platform.mjs';
const require = createRequire(import.meta.url);
const pg = require('pg');
const { connect } = require(require.resolve('@nats-io/transport-node', { paths: [root + '/services/libs/messaging'] }));
const { jetstreamManager } = require(require.resolve('@nats-io/jetstream', { paths: [root + '/services/libs/messaging'] }));
const BURST = Number(process.env.BURST ?? 1500);
const { platform, base, token, stop } = await startBenchPlatform({ workers: 2, slots: 8 });
try {
  const tdb = new pg.Client({ connectionString: platform.databases.tasks }); await tdb.connect();
  const adb = new pg.Client({ connectionString: platform.databases.allocation }); await adb.connect();
  const nc = await connect({ servers: platform.nats.url }); const jsm = await jetstreamManager(nc);
  const q = async (db, s) => Number((await db.query(s)).rows[0].n);
  const cons = async (stream, name) => { try { const i = await jsm.consumers.info(stream, name); return `${i.num_pending}+${i.num_ack_pending}`; } catch (e) { return 'x'; } };
  const names = async (stream) => { const out = []; for await (const c of jsm.consumers.list(stream)) out.push(c.name); return out; };
  console.log('TASKS consumers', await names('TASKS'), 'ALLOCATION consumers', await names('ALLOCATION'));
  let next = 0; const t0 = performance.now();
  const submit = Promise.all(Array.from({ length: 64 }, async () => { while (next < BURST) { next++; await api(base, token, 'POST', '/api/v1/tasks', { description: 'noop', tool: 'noop', input: {} }); } }));
  for (;;) {
    const queued = await q(tdb, "select count(*)::int n from event_store.events where type = 'TaskQueued'");
    const tStream = (await jsm.streams.info('TASKS')).state.messages;
    const tEvents = await q(tdb, 'select count(*)::int n from event_store.events');
    const allocTasks = await q(adb, "select count(*)::int n from tasks");
    const pending = await q(adb, "select count(*)::int n from tasks where status = 'pending'");
    const decided = await q(adb, "select count(*)::int n from event_store.events where type = 'AllocationDecided'");
    const deferred = await q(adb, "select count(*)::int n from event_store.events where type = 'AllocationDeferred'");
    const aStream = (await jsm.streams.info('ALLOCATION')).state.messages;
    const succ = await q(tdb, "select count(*)::int n from task_view where status = 'succeeded'");
    console.log(`${((performance.now() - t0) / 1000).toFixed(1)}s submitted ${next} queued ${queued} tasksEvents ${tEvents} onTASKS ${tStream} | alloc: seen ${allocTasks} pending ${pending} decided ${decided} deferred ${deferred} onALLOC ${aStream} | alloc-cons ${await cons('TASKS', 'allocation-tasks')} | succeeded ${succ}`);
    if (succ >= BURST) break;
    await sleep(1000);
  }
  await submit; await tdb.end(); await adb.end(); await nc.close();
} finally { await stop(); }
process.exit(0);
