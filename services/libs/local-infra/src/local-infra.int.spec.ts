import { connect } from '@nats-io/transport-node';
import { Client } from 'pg';
import { startNatsServer, testDatabase } from './index';

describe('local infrastructure', () => {
  it('starts a nats-server that survives a kill -9 and restart on the same port', async () => {
    const nats = await startNatsServer();
    try {
      const nc = await connect({ servers: nats.url });
      expect(nc.info?.jetstream).toBe(true);
      await nc.close();
      await nats.kill();
      await nats.restart();
      const again = await connect({ servers: nats.url });
      expect(again.info?.port).toBe(nats.port);
      await again.close();
    } finally {
      await nats.stop();
    }
  });

  it('gives each suite its own database on the run cluster', async () => {
    const a = await testDatabase('infra');
    const b = await testDatabase('infra');
    expect(a).not.toEqual(b);
    const client = new Client({ connectionString: a });
    await client.connect();
    const { rows } = await client.query<{ db: string }>('select current_database() as db');
    await client.end();
    expect(a.endsWith(`/${rows[0]?.db}`)).toBe(true);
  });
});
