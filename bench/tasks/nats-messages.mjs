// Diagnostic: every NATS message of a no-op burst, counted per subject family and divided by the
// tasks — event publishes, JetStream deliveries and acks, pull requests, RPCs, KV gets, replies.
// A `>` subscription beside the platform sees all of them (deliveries carry the stream subject).
// Usage: BURST=300 node bench/tasks/nats-messages.mjs
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { burst, sleep, startBenchPlatform } from './bench-platform.mjs';

const require = createRequire(import.meta.url);
const { connect, credsAuthenticator } = require('@nats-io/transport-node');
const BURST = Number(process.env.BURST ?? 300);

/** The family a subject is counted under: ids and per-worker suffixes dropped. */
function family(subject, data, headers) {
  const parts = subject.split('.');
  if (subject.startsWith('_INBOX'))
    return data.length === 0 ? `_INBOX (empty: ${headers ? `${headers.code} ${headers.description}` : 'no status'})` : '_INBOX (replies)';
  if (subject.startsWith('$JS.ACK')) return `$JS.ACK.${parts[2]}.${parts[3].replace(/^worker-.*/, 'worker-*')}`;
  if (subject.startsWith('$JS.API.DIRECT')) return parts.slice(0, 5).join('.');
  if (subject.startsWith('$JS.API.CONSUMER.MSG.NEXT')) return `$JS.API.CONSUMER.MSG.NEXT.${parts[5]}.${parts[6].replace(/^worker-.*/, 'worker-*')}`;
  if (subject.startsWith('work.') || subject.startsWith('$KV.')) return `${parts[0]}.${parts[1]}.*`;
  return parts.slice(0, 3).join('.');
}

const { platform, base, token, stop } = await startBenchPlatform({ workers: 2, slots: 8 });
try {
  const nc = await connect({ servers: platform.nats.url, authenticator: credsAuthenticator(readFileSync(platform.natsCredsFile)) });
  const counts = new Map();
  let counting = false;
  nc.subscribe('>', {
    callback: (_error, msg) => {
      if (!counting) return;
      const key = family(msg.subject, msg.data, msg.headers);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
  });
  await nc.flush();
  await sleep(3000);
  counting = true;
  await burst(base, token, { description: 'noop', tool: 'noop', input: {} }, BURST, 32);
  await sleep(4000); // the last tasks finish and their events go round
  counting = false;
  let total = 0;
  for (const [key, n] of [...counts].sort((a, b) => b[1] - a[1])) {
    total += n;
    console.log(`${(n / BURST).toFixed(2).padStart(7)}  ${key}`);
  }
  console.log(`${(total / BURST).toFixed(2).padStart(7)}  messages per task (${BURST} no-op tasks)`);
  await nc.close();
} finally {
  await stop();
}
