import { describeEventStoreContract } from '../testing/event-store.contract';
import { KurrentDbEventStore } from './kurrentdb-event-store';

const url = process.env.KURRENTDB_URL;

// Without KURRENTDB_URL (no KurrentDB server can run on these machines) the whole contract suite
// is reported as skipped, with the reason printed at run time.
describeEventStoreContract(
  'KurrentDbEventStore',
  async () => {
    const store = await KurrentDbEventStore.connect(url!);
    return { store, close: () => store.close() };
  },
  url ? {} : { skipBecause: 'KURRENTDB_URL is not set (no KurrentDB server on this machine)' },
);
