/*
 * The command the dashboard shows for "Add worker": one line a user pastes on a machine with
 * Node.js 20.19+ and npm, outside any checkout. It
 *  1. downloads the agent package from this platform with Node's fetch and checks its sha256
 *     against the one given here (a tampered or swapped tarball stops the line: nothing is
 *     installed, nothing runs), saving it as ~/.agentyard-worker/<file>;
 *  2. installs that verified file with npm into its own prefix, ~/.agentyard-worker/<version>
 *     (kept out of the agent's state dir, which a sandboxed task sees covered). Its dependencies
 *     come from the public registry at the versions of the package's npm-shrinkwrap.json, each
 *     checked against its integrity hash; only node-pty may run an install script (it compiles:
 *     python3, make, g++ on Linux — the first step says so before npm starts);
 *  3. starts that copy with the registration token. Its bin dir goes on PATH so the sandbox binds
 *     the agent's own files back for the tasks it runs (an API tool's helper script lives there).
 * Never `npx agentyard-worker`: that would run whatever the public registry has under the name.
 * POSIX shells (bash, zsh, sh); a value with a character a shell would treat specially is single-quoted.
 */
import type { AgentPackage } from '../infrastructure/agent-package.reader';

/** The download check, run by `node -e` with (url, sha256, destination); no single quote inside. */
const downloadAndVerify = [
  'const [u,h,f]=process.argv.slice(1),c=require("crypto"),fs=require("fs"),p=require("path");',
  'const [M,N]=process.versions.node.split(".").map(Number);if(M<20||(M==20&&N<19)){console.error("agentyard-worker needs Node.js 20.19 or later");process.exit(1)}',
  'fetch(u).catch(e=>{throw Error("cannot download "+u+": "+(e.cause?.message??e.message))})',
  '.then(r=>{if(!r.ok)throw Error("download failed: HTTP "+r.status+" "+u);return r.arrayBuffer()})',
  '.then(b=>{b=Buffer.from(b);const d=c.createHash("sha256").update(b).digest("hex");',
  'if(d!==h)throw Error("checksum mismatch for "+u+": expected "+h+", got "+d+"; nothing installed");',
  'fs.mkdirSync(p.dirname(f),{recursive:true});fs.writeFileSync(f,b);',
  'console.log("agentyard-worker: checksum ok; installing with npm (node-pty compiles on Linux: needs python3, make and g++)")})',
  '.catch(e=>{console.error("agentyard-worker: "+e.message);process.exit(1)})',
].join('');

/** `value` as one shell word: as is when it holds only characters no shell treats specially, else single-quoted. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Where the command installs a version: `~/.agentyard-worker/<version>` (the shell expands `~`). */
export const installPrefix = (version: string): string => `~/.agentyard-worker/${version}`;

export function installCommand(input: { publicUrl: string; token: string; pkg: AgentPackage | undefined }): string {
  const { publicUrl, token, pkg } = input;
  if (!pkg) {
    // Said where the command runs; `false` rather than `exit`, which would close the user's shell.
    return `echo ${shellQuote('agentyard: this platform has no worker package built (run node infra/scripts/build.mjs on it); nothing installed')} >&2; false`;
  }
  const prefix = installPrefix(pkg.version);
  const tarball = `~/.agentyard-worker/${pkg.file}`;
  return [
    `node -e ${shellQuote(downloadAndVerify)} ${shellQuote(`${publicUrl}/downloads/${pkg.file}`)} ${pkg.sha256} ${tarball}`,
    `npm install --global --prefix ${prefix} --allow-scripts=node-pty --no-fund --no-audit ${tarball}`,
    `PATH=${prefix}/bin:"$PATH" ${prefix}/bin/agentyard-worker start --url ${shellQuote(publicUrl)} --token ${shellQuote(token)}`,
  ].join(' && ');
}
