import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import SparkLine from './SparkLine.vue';

describe('SparkLine', () => {
  it('draws the values and announces the latest one', () => {
    const wrapper = mount(SparkLine, { props: { values: [10, 50, 42.4], label: 'CPU' } });
    expect(wrapper.attributes('aria-label')).toBe('CPU 42 %');
    expect(wrapper.find('polyline').attributes('points')?.split(' ')).toHaveLength(3);
  });

  it('keeps values on the chart when they are out of range', () => {
    const wrapper = mount(SparkLine, { props: { values: [-5, 150], label: 'Disk', height: 28 } });
    const ys = (wrapper.find('polyline').attributes('points') ?? '').split(' ').map((p) => Number(p.split(',')[1]));
    expect(Math.max(...ys)).toBeLessThanOrEqual(28);
    expect(Math.min(...ys)).toBeGreaterThanOrEqual(0);
  });

  it('says when there is no data', () => {
    expect(mount(SparkLine, { props: { values: [], label: 'Memory' } }).attributes('aria-label')).toBe('Memory: no data yet');
  });
});
