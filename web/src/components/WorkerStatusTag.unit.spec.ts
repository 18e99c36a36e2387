import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import WorkerStatusTag from './WorkerStatusTag.vue';

const status = (worker: { status: 'online' | 'draining' | 'offline'; drained: boolean; credentialRevoked?: boolean }) =>
  mount(WorkerStatusTag, { props: { worker } }).find('[data-testid="worker-status"]').attributes('data-status');

describe('WorkerStatusTag', () => {
  it('names online, draining and offline workers', () => {
    expect(status({ status: 'online', drained: false })).toBe('online');
    expect(status({ status: 'online', drained: true })).toBe('draining');
    expect(status({ status: 'offline', drained: true })).toBe('offline');
  });

  it('says revoked above all, even while the revoked agent is still connected', () => {
    expect(status({ status: 'online', drained: false, credentialRevoked: true })).toBe('revoked');
  });
});
