/*
 * Automatic layout with dagre, top to bottom. Node boxes have one fixed size (the node cards are
 * sized to match in NodeShell.vue), so a layout never waits for the DOM and is the same in a test.
 * Loop-back edges are left out of the ranking: they point backwards, and ranking them would pull
 * the loop's target below its source.
 */
import { graphlib, layout } from '@dagrejs/dagre';
import type { Position } from './workflow-draft';

export const nodeBox = { width: 200, height: 64 };

export interface LayoutEdge {
  from: string;
  to: string;
  loop?: boolean;
}

/** Top-left positions for every node id. */
export function layoutGraph(ids: readonly string[], edges: readonly LayoutEdge[], direction: 'TB' | 'LR' = 'TB'): Record<string, Position> {
  const g = new graphlib.Graph();
  g.setGraph({ rankdir: direction, nodesep: 40, ranksep: 60, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  const known = new Set(ids);
  for (const id of ids) g.setNode(id, { width: nodeBox.width, height: nodeBox.height });
  for (const e of edges) if (!e.loop && known.has(e.from) && known.has(e.to) && e.from !== e.to) g.setEdge(e.from, e.to);
  layout(g);
  const out: Record<string, Position> = {};
  for (const id of ids) {
    const n = g.node(id);
    // dagre gives centres; vue-flow places nodes by their top-left corner.
    out[id] = { x: Math.round(n.x - nodeBox.width / 2), y: Math.round(n.y - nodeBox.height / 2) };
  }
  return out;
}

/** The editor and run view's layout: place every node, or only those without a position. */
export function useLayout() {
  function layoutAll(ids: readonly string[], edges: readonly LayoutEdge[]): Record<string, Position> {
    return layoutGraph(ids, edges);
  }

  /**
   * Positions for nodes that have none, keeping the others: a full layout, shifted so new nodes
   * go below everything already placed (a person's arrangement is never moved).
   */
  function placeMissing(positions: Record<string, Position | null>, edges: readonly LayoutEdge[]): Record<string, Position> {
    const ids = Object.keys(positions);
    const missing = ids.filter((id) => !positions[id]);
    const placed = Object.fromEntries(ids.filter((id) => positions[id]).map((id) => [id, positions[id]!])) as Record<string, Position>;
    if (missing.length === 0) return placed;
    const all = layoutGraph(ids, edges);
    if (missing.length === ids.length) return all;
    const bottom = Math.max(...Object.values(placed).map((p) => p.y)) + nodeBox.height + 60;
    const top = Math.min(...missing.map((id) => all[id]!.y));
    for (const id of missing) placed[id] = { x: all[id]!.x, y: all[id]!.y - top + bottom };
    return placed;
  }

  return { layoutAll, placeMissing };
}
