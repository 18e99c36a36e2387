import { logPosition, MAX_EVENTS_PER_TRANSACTION, MAX_TRANSACTION_ID, ordinalOf, transactionIdOf } from './log-position';

describe('log position', () => {
  describe('when built from a transaction id and an ordinal', () => {
    it('orders by transaction id first, then by ordinal', () => {
      const pairs: [bigint, number][] = [
        [5n, 0],
        [5n, 1],
        [5n, MAX_EVENTS_PER_TRANSACTION - 1],
        [6n, 0],
        [1_000_000_000n, 3],
      ];
      const positions = pairs.map(([tx, ordinal]) => logPosition(tx, ordinal));
      expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
      expect(new Set(positions).size).toBe(positions.length);
    });

    it('gives back its transaction id and ordinal', () => {
      const position = logPosition(123_456_789n, 4321);
      expect(transactionIdOf(position)).toBe(123_456_789n);
      expect(ordinalOf(position)).toBe(4321);
    });

    it('fits a signed 64-bit integer up to the largest allowed transaction id', () => {
      expect(logPosition(MAX_TRANSACTION_ID, MAX_EVENTS_PER_TRANSACTION - 1)).toBe(2n ** 63n - 1n);
    });

    it('refuses an ordinal or transaction id out of range', () => {
      expect(() => logPosition(1n, MAX_EVENTS_PER_TRANSACTION)).toThrow(RangeError);
      expect(() => logPosition(MAX_TRANSACTION_ID + 1n, 0)).toThrow(RangeError);
      expect(() => logPosition(-1n, 0)).toThrow(RangeError);
    });
  });
});
