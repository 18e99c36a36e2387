/** Node types map to their components (vue-flow's `nodeTypes`). */
import { markRaw, type Component } from 'vue';
import type { GraphNodeType } from '@/api/client';
import ApprovalNode from './ApprovalNode.vue';
import DirectorNode from './DirectorNode.vue';
import GateNode from './GateNode.vue';
import SelectNode from './SelectNode.vue';
import TaskNode from './TaskNode.vue';

export const nodeComponents: Record<GraphNodeType, Component> = {
  task: markRaw(TaskNode),
  director: markRaw(DirectorNode),
  approval: markRaw(ApprovalNode),
  gate: markRaw(GateNode),
  select: markRaw(SelectNode),
};
