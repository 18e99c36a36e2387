import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchPlatform, api, sleep, root } from './bench-platform.mjs';
const variants = JSON.parse(process.env.VARIANTS);
const { base, token, stop } = await startBenchPlatform({ workers: 0 });
const kids = [];
const ticks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
try {
  for (const [i, flags] of variants.entries()) {
    const { token: reg } = await api(base, token, 'POST', '/api/v1/workers/registration-tokens', { uses: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'agentyard-worker-'));
    kids.push(spawn(process.execPath, [...flags, join(root, 'worker/dist/main.js'), 'start', '--url', base, '--name', `v${i}`, '--slots', '1', '--state-dir', dir, '--token', reg], { stdio: 'ignore' }));
  }
  let workers;
  for (;;) { ({ items: workers } = await api(base, token, 'GET', '/api/v1/workers')); if (workers.filter((w) => w.status === 'online').length === variants.length) break; await sleep(200); }
  for (let round = 0; round < 2; round++) {
    for (const [i, v] of variants.entries()) {
      const id = workers.find((w) => w.name === `v${i}`).id;
      const t0 = ticks(kids[i].pid);
      const start = performance.now();
      const task = await api(base, token, 'POST', '/api/v1/tasks', { description: 'out', tool: 'shell', input: { command: process.env.CMD ?? "head -c 20000000 /dev/zero | tr '\\0' 'a'" }, requirements: { workerId: id } });
      for (;;) { const t = await api(base, token, 'GET', `/api/v1/tasks/${task.id}`); if (['succeeded', 'failed'].includes(t.status)) { if (t.status !== 'succeeded') console.log('FAILED', t); break; } await sleep(100); }
      console.log(JSON.stringify(v), 'agent CPU', ((ticks(kids[i].pid) - t0) / 100).toFixed(2), 's; wall', ((performance.now() - start) / 1000).toFixed(1), 's');
    }
  }
} finally { kids.forEach((k) => k.kill('SIGKILL')); await stop(); }
