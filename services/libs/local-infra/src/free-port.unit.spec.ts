import { createServer, type Server } from 'node:net';
import { freePort } from './free-port';

describe('freePort', () => {
  it('hands out distinct ports below the kernel’s ephemeral range, each one free to listen on', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 100; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(100);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(32_768);
    }
    const servers: Server[] = [];
    try {
      for (const port of ports.slice(0, 20)) {
        const srv = createServer();
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(port, '0.0.0.0', () => resolve());
        });
        servers.push(srv);
      }
      expect(servers).toHaveLength(20);
    } finally {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('skips a port something already listens on, and one it handed out before', async () => {
    const listening = createServer();
    const busy = await listenInRange(listening);
    try {
      const again = await freePort(); // handed out once: never again, even though it is free
      const third = 20_000 + ((busy - 20_000 + 6_000) % 12_000);
      // The picker is steered onto the busy port, then the handed-out one, then a third.
      const at = (port: number) => (port - 20_000 + 0.5) / 12_000;
      const steered = [at(busy), at(again), at(third)];
      expect(await freePort(() => steered.shift() ?? Math.random())).toBe(third);
      expect(steered).toHaveLength(0);
    } finally {
      await new Promise((r) => listening.close(r));
    }
  });
});

async function listenInRange(srv: Server): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const ok = await new Promise<boolean>((resolve) => {
      srv.once('error', () => resolve(false));
      srv.listen(port, '0.0.0.0', () => resolve(true));
    });
    if (ok) return port;
  }
}
