/*
 * Whether a worker's agent is older than the one the platform serves. Versions are semver
 * (`1.2.3`, optionally `-pre.1`); a pre-release is older than its release. A version that does not
 * parse is not called outdated: the dashboard would nag about something it cannot judge.
 */
const semver = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Negative when a < b, 0 when equal, positive when a > b; undefined when either does not parse. */
export function compareVersions(a: string, b: string): number | undefined {
  const x = semver.exec(a);
  const y = semver.exec(b);
  if (!x || !y) return undefined;
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return d;
  }
  const [pa, pb] = [x[4], y[4]];
  if (pa === pb) return 0;
  if (pa === undefined) return 1;
  if (pb === undefined) return -1;
  const partsA = pa.split('.');
  const partsB = pb.split('.');
  for (let i = 0; i < Math.max(partsA.length, partsB.length); i++) {
    const [u, v] = [partsA[i], partsB[i]];
    if (u === undefined) return -1;
    if (v === undefined) return 1;
    const [nu, nv] = [/^\d+$/.test(u) ? Number(u) : undefined, /^\d+$/.test(v) ? Number(v) : undefined];
    if (nu !== undefined && nv !== undefined) {
      if (nu !== nv) return nu - nv;
    } else if (nu !== undefined) return -1;
    else if (nv !== undefined) return 1;
    else if (u !== v) return u < v ? -1 : 1;
  }
  return 0;
}

/** The agent is older than the platform's package (false when the platform serves none). */
export function isAgentOutdated(agentVersion: string, platformVersion: string | undefined): boolean {
  if (platformVersion === undefined) return false;
  return (compareVersions(agentVersion, platformVersion) ?? 0) < 0;
}
