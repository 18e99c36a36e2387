import { createServer } from 'node:net';

// Ports are picked below Linux's ephemeral range (32768–60999 by default): a port the kernel
// hands to listen(0) is also one it may hand, a moment later, to an outgoing connection (a pool's
// socket to Postgres) as its local port, and then the service it was meant for fails with
// EADDRINUSE. Random picks make two processes (parallel test workers) unlikely to collide, and
// the set keeps one process from handing out a port twice.
const RANGE_START = 20_000;
const RANGE_SIZE = 12_000;
const handedOut = new Set<number>();

/** A TCP port that is free right now on every interface, never handed out before by this process. */
export async function freePort(random: () => number = Math.random): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = RANGE_START + Math.floor(random() * RANGE_SIZE);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free TCP port found in ${RANGE_START}–${RANGE_START + RANGE_SIZE - 1} after 200 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '0.0.0.0', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Resolves once something accepts TCP connections on host:port, or rejects after timeoutMs. */
export async function waitForPort(port: number, timeoutMs = 15_000, host = '127.0.0.1'): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** True when something answers on host:port within timeoutMs. */
export async function isReachable(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise<boolean>((resolve) => {
    const socket = connect({ port, host });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
