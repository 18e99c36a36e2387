/*
 * A worker's tools as allocation sees them now: the latest heartbeat's entry is the freshest word
 * on a tool's health, the registered list backs it up (an agent older than the health fields
 * reports none, and its tools read as healthy). An unhealthy tool gets no task. Shared by the
 * workers list (a glance) and a worker's Tools table (the detail). Tested in tool-health.unit.spec.ts.
 */
import type { Worker } from '@/api/client';

export type ReportedTool = Worker['tools'][number];

export interface ToolHealth {
  name: ReportedTool['name'];
  /** The entry to show: the latest heartbeat's, else the registered one. */
  reported: ReportedTool;
  healthy: boolean;
  /** The agent's reason when unhealthy (a refused key, an unreachable endpoint), else empty. */
  detail: string;
  /** Whether the latest heartbeat still lists the tool. */
  inHeartbeat: boolean;
}

/** Each registered tool of `worker` with its current health, in the registered order. */
export function toolHealth(worker: Pick<Worker, 'tools' | 'lastHeartbeat'>): ToolHealth[] {
  const latest = new Map((worker.lastHeartbeat?.tools ?? worker.tools).map((t) => [t.name, t]));
  return worker.tools.map((registered) => {
    const reported = latest.get(registered.name) ?? registered;
    const healthy = (reported.health ?? 'healthy') === 'healthy';
    return { name: registered.name, reported, healthy, detail: healthy ? '' : (reported.detail ?? ''), inHeartbeat: latest.has(registered.name) };
  });
}

/** The tools of `worker` that get no task now, for a warning at a glance. */
export function unhealthyTools(worker: Pick<Worker, 'tools' | 'lastHeartbeat'>): ToolHealth[] {
  return toolHealth(worker).filter((t) => !t.healthy);
}
