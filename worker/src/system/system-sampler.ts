/*
 * CPU, memory and disk figures for registration and heartbeats, sampled cheaply: an idle agent
 * must stay near 0 % CPU. Static figures (CPU count, memory total) are read once. Per beat we read
 * the CPU load — the CPU times `os.cpus()` gives, diffed since the last beat, so each beat reports
 * the average over the interval (systeminformation's currentLoad also runs `cat /proc/stat | grep
 * cpu` through a synchronous shell on every call: the agent's event loop stood still for it every
 * beat, for hundreds of ms on a loaded machine) — and /proc/meminfo. Disk is
 * measured with statfs(2) on the state dir — the filesystem tasks actually write to — instead of
 * systeminformation's fsSize, which spawns `df`; it is refreshed at most once a minute.
 */
import { statfs } from 'node:fs/promises';
import { cpus } from 'node:os';
import type * as Systeminformation from 'systeminformation';
import type { WorkerResources } from '@agentyard/contracts/agent';

/*
 * Only the two parts of systeminformation we call. Its index loads every module (graphics,
 * docker, wifi, printers, …): about 7 MB of resident memory an idle agent has no use for.
 * The version is pinned, so these paths are stable.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- deliberate: load two modules of the package, not its index */
const si = {
  ...(require('systeminformation/lib/cpu') as Pick<typeof Systeminformation, 'cpu'>),
  ...(require('systeminformation/lib/memory') as Pick<typeof Systeminformation, 'mem'>),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export interface SystemSample {
  cpuPercent: number;
  memUsedMb: number;
  memTotalMb: number;
  diskFreeMb: number;
  diskTotalMb: number;
}

interface DiskFigures {
  freeMb: number;
  totalMb: number;
  at: number;
}

const MB = 1024 * 1024;

/** Total and idle CPU time of the machine (ms, summed over its CPUs). */
export interface CpuTimes {
  total: number;
  idle: number;
}

export function cpuTimesNow(): CpuTimes {
  let total = 0;
  let idle = 0;
  for (const { times } of cpus()) {
    total += times.user + times.nice + times.sys + times.idle + times.irq;
    idle += times.idle;
  }
  return { total, idle };
}

/** The share of CPU time spent busy between two readings, in percent (0 when no time passed). */
export function busyPercent(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  return total > 0 ? (100 * (total - (after.idle - before.idle))) / total : 0;
}

export class SystemSampler {
  private staticFigures: Promise<{ cpus: number; memTotalMb: number }> | undefined;
  private disk: DiskFigures | undefined;
  private lastCpu: CpuTimes | undefined;

  /**
   * @param diskPath a path on the filesystem to report (the state dir)
   * @param diskRefreshMs how long disk figures are reused; default 60 s
   */
  constructor(
    private readonly diskPath: string,
    private readonly diskRefreshMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** What the worker offers, for registration. */
  async resources(): Promise<WorkerResources> {
    const { cpus, memTotalMb } = await this.static();
    const disk = await this.diskFigures();
    return { cpus, memoryMb: Math.max(1, memTotalMb), diskMb: disk.totalMb };
  }

  /** Current load; cheap enough to call every few seconds. */
  async sample(): Promise<SystemSample> {
    const [{ memTotalMb }, mem, disk] = await Promise.all([this.static(), si.mem(), this.diskFigures()]);
    // The first beat reports the average since boot; each later one, since the beat before.
    const times = cpuTimesNow();
    const cpuPercent = busyPercent(this.lastCpu ?? { total: 0, idle: 0 }, times);
    this.lastCpu = times;
    return {
      cpuPercent: clampPercent(cpuPercent),
      // `active` = total − available: what programs hold, not the page cache the kernel can drop.
      memUsedMb: Math.max(0, Math.round(mem.active / MB)),
      memTotalMb,
      diskFreeMb: disk.freeMb,
      diskTotalMb: disk.totalMb,
    };
  }

  private static(): Promise<{ cpus: number; memTotalMb: number }> {
    this.staticFigures ??= Promise.all([si.cpu(), si.mem()]).then(([cpu, mem]) => ({
      cpus: Math.max(1, cpu.cores || 1),
      memTotalMb: Math.round(mem.total / MB),
    }));
    return this.staticFigures;
  }

  private async diskFigures(): Promise<DiskFigures> {
    const now = this.now();
    if (this.disk && now - this.disk.at < this.diskRefreshMs) return this.disk;
    try {
      const stats = await statfs(this.diskPath);
      this.disk = { freeMb: Math.floor((stats.bavail * stats.bsize) / MB), totalMb: Math.floor((stats.blocks * stats.bsize) / MB), at: now };
    } catch {
      // The state dir vanished or is unreadable: report zeros rather than stop heartbeating.
      this.disk = { freeMb: 0, totalMb: 0, at: now };
    }
    return this.disk;
  }
}

function clampPercent(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.round(Math.min(100, Math.max(0, value)) * 10) / 10;
}
