import { describeEventStoreContract } from '../testing/event-store.contract';
import { KurrentDbEventStore } from './kurrentdb-event-store';

const url = process.env.KURRENTDB_URL;

if (url) {
  describeEventStoreContract('KurrentDbEventStore', async () => {
    const store = await KurrentDbEventStore.connect(url);
    return { store, close: () => store.close() };
  });
} else {
  describe('KurrentDbEventStore', () => {
    it('reports its contract suite as skipped because no KurrentDB server is configured', () => {
      console.warn('KurrentDB contract suite skipped: KURRENTDB_URL is not set (no KurrentDB server on this machine)');
      expect(process.env.KURRENTDB_URL ?? '').toBe('');
    });
  });
}
