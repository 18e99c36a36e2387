import { describe, expect, it } from 'vitest';
import { layoutGraph, nodeBox, useLayout } from './useLayout';

describe('useLayout', () => {
  it('ranks a chain top to bottom and ignores loop-back edges when ranking', () => {
    const p = layoutGraph(
      ['a', 'b', 'c'],
      [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'a', loop: true },
      ],
    );
    expect(p.a!.y).toBeLessThan(p.b!.y);
    expect(p.b!.y).toBeLessThan(p.c!.y);
  });

  it('places only the nodes without a position, below the ones a person placed', () => {
    const { placeMissing } = useLayout();
    const out = placeMissing({ a: { x: 500, y: 40 }, b: null }, [{ from: 'a', to: 'b' }]);
    expect(out.a).toEqual({ x: 500, y: 40 });
    expect(out.b!.y).toBeGreaterThanOrEqual(40 + nodeBox.height);
  });
});
