/** Formatting for people: durations, relative times, sizes. Pure; tested in format.unit.spec.ts. */

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} m`;
}

export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.round((now - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString();
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function formatMb(mb: number): string {
  if (mb >= 1024 * 1024) return `${(mb / 1024 / 1024).toFixed(1)} TB`;
  if (mb >= 1024) return `${(mb / 1024).toFixed(1)} GB`;
  return `${mb} MB`;
}

/** A size in bytes for people: `512 B`, `3.4 KB`, `1.2 MB` (binary multiples). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Run time of a task: finished − started, or so far when still running. */
export function taskDurationMs(
  task: { startedAt: string | null; finishedAt: string | null; result?: { durationMs: number } | null },
  now = Date.now(),
): number | null {
  if (task.result?.durationMs) return task.result.durationMs;
  if (!task.startedAt) return null;
  return (task.finishedAt ? Date.parse(task.finishedAt) : now) - Date.parse(task.startedAt);
}

export const shortId = (id: string | null | undefined): string => (id ? id.slice(0, 8) : '—');

/** A token count for people: 950, 12.3k, 1.2M. */
export function formatTokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** What an agent task used: "1.2k in · 340 out (800 cached) · $0.0123", or "—" without usage. */
export function formatUsage(
  usage: { inputTokens: number; outputTokens: number; cachedInputTokens?: number; costUsd: number | null } | null | undefined,
): string {
  if (!usage) return '—';
  const cached = usage.cachedInputTokens ? ` (${formatTokens(usage.cachedInputTokens)} cached)` : '';
  const cost = usage.costUsd === null ? 'cost not reported' : formatCost(usage.costUsd);
  return `${formatTokens(usage.inputTokens)} in · ${formatTokens(usage.outputTokens)} out${cached} · ${cost}`;
}

/** Dollars for people: four decimals under $1 (agent calls cost fractions of a cent), else two. */
export function formatCost(usd: number): string {
  return `$${usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}`;
}
