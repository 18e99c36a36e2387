import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchPlatform, api, sleep, root } from './bench-platform.mjs';
const variants = JSON.parse(process.env.VARIANTS);
const { platform, base, token, stop } = await startBenchPlatform({ workers: 0 });
const kids = []; console.log("platform up");
try {
  for (const [i, flags] of variants.entries()) {
    const { token: reg } = await api(base, token, 'POST', '/api/v1/workers/registration-tokens', { uses: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'agentyard-worker-'));
    const c = spawn(process.execPath, [...flags, join(root, 'worker/dist/main.js'), 'start', '--url', base, '--name', `v${i}`, '--slots', '4', '--state-dir', dir, '--token', reg], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...(process.env.AGENT_NODE_OPTIONS ? { NODE_OPTIONS: process.env.AGENT_NODE_OPTIONS } : {}) } });
    kids.push(c);
  }
  for (;;) { const { items } = await api(base, token, 'GET', '/api/v1/workers'); if (items.filter((w) => w.status === 'online').length === variants.length) break; await sleep(200); }
  console.log("online"); const ids = [];
  for (let i = 0; i < 40 * variants.length; i++) ids.push((await api(base, token, 'POST', '/api/v1/tasks', { description: 'x', tool: 'shell', input: { command: 'echo hi' } })).id);
  for (;;) { const { items } = await api(base, token, 'GET', '/api/v1/tasks?status=succeeded&limit=200'); if (items.length >= ids.length) break; await sleep(500); }
  const samples = variants.map(() => []);
  for (let s = 0; s < 15; s++) { await sleep(2000); kids.forEach((k, i) => samples[i].push(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${k.pid}/status`, 'utf8'))[1]) / 1024)); }
  if (process.env.AGENT_NODE_OPTIONS) kids.forEach((k) => k.kill('SIGUSR2')); await sleep(500); (await import('node:fs')).writeFileSync('/tmp/exp/smaps.txt', readFileSync(`/proc/${kids[0].pid}/smaps`, 'utf8'));
  kids.forEach((k) => console.log(readFileSync(`/proc/${k.pid}/status`, 'utf8').split('\n').filter((l) => /Rss/.test(l)).join(' ')));
  variants.forEach((v, i) => { const s = samples[i].sort((a, b) => a - b); console.log(JSON.stringify(v), 'median', s[7].toFixed(1), 'max', s[14].toFixed(1)); });
} finally { kids.forEach((k) => k.kill('SIGKILL')); await stop(); }
