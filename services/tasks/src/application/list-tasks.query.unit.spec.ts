import { DomainError } from '@agentyard/contracts';
import { decodeCursor, encodeCursor } from './list-tasks.query';

const row = { id: '01900000-0000-7000-8000-000000000001', createdAt: '2026-11-28T10:00:00.000Z', priority: 70 };

describe('ListTasks cursor', () => {
  describe('when a cursor comes back with the sort it was made for', () => {
    it('decodes to the last row’s sort key and id', () => {
      expect(decodeCursor(encodeCursor('-created', row), '-created')).toEqual({ key: row.createdAt, id: row.id });
      expect(decodeCursor(encodeCursor('priority', row), 'priority')).toEqual({ key: 70, id: row.id });
    });

    it('is opaque and URL-safe', () => {
      expect(encodeCursor('-priority', row)).toMatch(/^[A-Za-z0-9_-]+$/);
    });
  });

  describe('when the cursor is not one of ours', () => {
    it.each([['garbage'], [Buffer.from('{"s":"created"}').toString('base64url')], [Buffer.from('{"s":"created","k":5,"i":"x"}').toString('base64url')]])(
      'refuses %s with VALIDATION_FAILED naming the cursor',
      (cursor) => {
        expect(() => decodeCursor(cursor, 'created')).toThrow(DomainError);
        expect(() => decodeCursor(cursor, 'created')).toThrow(/cursor is not valid/);
      },
    );
  });

  describe('when the cursor belongs to another sort', () => {
    it('says so instead of returning a wrong page', () => {
      expect(() => decodeCursor(encodeCursor('created', row), 'priority')).toThrow('cursor belongs to sort=created, not sort=priority');
    });
  });

  describe('when a crafted cursor carries a key its column cannot hold', () => {
    const crafted = (s: string, k: unknown, i: string = row.id) => Buffer.from(JSON.stringify({ s, k, i })).toString('base64url');
    it.each([
      ['a fractional priority', crafted('priority', 1.5), 'priority'],
      ['a huge priority', crafted('priority', 1e20), 'priority'],
      ['a priority beyond the range', crafted('priority', 101), 'priority'],
      ['a negative priority', crafted('priority', -1), 'priority'],
      ['a year-0 date', crafted('created', '0000-01-01T00:00:00.000Z'), 'created'],
      ['a date that is not one', crafted('created', '2026-13-45T99:00:00Z'), 'created'],
      ['a date without an offset', crafted('created', '2026-01-01 00:00'), 'created'],
      ['an id that is not a task id', crafted('created', row.createdAt, 'x\u0000y'), 'created'],
    ] as const)('refuses %s with VALIDATION_FAILED', (_name, cursor, sort) => {
      expect(() => decodeCursor(cursor, sort)).toThrow(/cursor is not valid/);
    });
  });
});
