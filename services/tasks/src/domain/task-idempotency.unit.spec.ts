import { isUuid, type CreateTaskBody } from '@agentyard/contracts';
import { keyedTaskId, requestHashOf } from './task-idempotency';

const body = { description: 'd', tool: 'shell', input: { command: 'true', env: { A: '1', B: '2' } }, priority: 50 } as unknown as CreateTaskBody;

describe('Idempotency-Key task ids and request hashes', () => {
  it('names one UUID per (user, key), the same every time, version 8', () => {
    const id = keyedTaskId('user-1', 'key-1');
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('8');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
    expect(keyedTaskId('user-1', 'key-1')).toBe(id);
    expect(keyedTaskId('user-2', 'key-1')).not.toBe(id);
    expect(keyedTaskId('user-1', 'key-2')).not.toBe(id);
    // The separator keeps (user, key) pairs apart that concatenate alike.
    expect(keyedTaskId('user-1k', 'ey-1')).not.toBe(keyedTaskId('user-1', 'key-1'));
  });

  it('hashes a request the same whatever its keys’ order, and differently when a value differs', () => {
    const reordered = { priority: 50, input: { env: { B: '2', A: '1' }, command: 'true' }, tool: 'shell', description: 'd' } as unknown as CreateTaskBody;
    expect(requestHashOf(reordered)).toBe(requestHashOf(body));
    expect(requestHashOf({ ...body, priority: 51 })).not.toBe(requestHashOf(body));
    expect(requestHashOf({ ...body, input: { command: 'false' } })).not.toBe(requestHashOf(body));
  });
});
