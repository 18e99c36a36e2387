/*
 * What a node card on the canvas shows: the editor fills it from the draft (with its error count),
 * the run view from the run's graph (with the node's live status). Node types map to the small
 * components in this folder (`nodeComponents`).
 */
import type { GraphNodeType, NodeStatus } from '@/api/client';

export interface FlowNodeData {
  /** The workflow's node id (what expressions and the API name). */
  nodeId: string;
  type: GraphNodeType;
  label: string;
  /** One line: the tool and command, the strategy, the timeout… */
  summary: string;
  join: string;
  status?: NodeStatus;
  /** Errors the server reported for this node (editor). */
  issueCount?: number;
  /** Iteration (loops) when above 0 (run view). */
  iteration?: number;
  /** Made by a director's plan (run view). */
  planned?: boolean;
}
