import { bubblewrapPrefix, programPrefixesIn, setprivPrefix, type SandboxSpec } from './task-isolation';

const dir = {
  root: '/s/work/t-1',
  cwd: '/s/work/t-1/sub',
  sandbox: { dir: '/s/work/t-1.sandbox', home: '/s/work/t-1.sandbox/home', tmp: '/s/work/t-1.sandbox/tmp' },
};
const spec = (extra: Partial<SandboxSpec> = {}): SandboxSpec => ({
  stateDir: '/s',
  dir,
  identity: undefined,
  setpriv: undefined,
  masks: { dirs: [], files: [] },
  ...extra,
});

/** The index of the first occurrence of the option/value sequence in args. */
const at = (args: string[], ...seq: string[]): number => args.findIndex((_, i) => seq.every((s, j) => args[i + j] === s));

describe('bubblewrapPrefix', () => {
  const args = bubblewrapPrefix('/usr/bin/bwrap', spec());

  it('runs the task in its own pid and IPC namespaces and ends it with the agent', () => {
    expect(args.slice(0, 4)).toEqual(['/usr/bin/bwrap', '--die-with-parent', '--unshare-pid', '--unshare-ipc']);
    expect(at(args, '--proc', '/proc')).toBeGreaterThan(0);
  });

  it('shows the host read-only, covers the state dir, and binds back only the attempt', () => {
    expect(at(args, '--ro-bind', '/', '/')).toBeGreaterThan(0);
    const cover = at(args, '--tmpfs', '/s');
    expect(cover).toBeGreaterThan(at(args, '--ro-bind', '/', '/'));
    // Binds inside the covered dir come after the cover, or the cover would hide them.
    expect(at(args, '--bind', '/s/work/t-1', '/s/work/t-1')).toBeGreaterThan(cover);
    expect(at(args, '--bind', dir.sandbox.home, dir.sandbox.home)).toBeGreaterThan(cover);
    // /tmp comes first, so a state dir under /tmp is covered inside the private /tmp.
    expect(at(args, '--bind', dir.sandbox.tmp, '/tmp')).toBeLessThan(cover);
    expect(args.filter((a) => a.startsWith('/s'))).toEqual(expect.arrayContaining(['/s', '/s/work/t-1', dir.sandbox.home, dir.sandbox.tmp, '/s/work/t-1/sub']));
  });

  it('starts the task in its cwd and ends with --', () => {
    expect(args.slice(-3)).toEqual(['--chdir', '/s/work/t-1/sub', '--']);
  });

  it('as root: names the task uid in passwd/group and switches to it inside, with the capabilities for that only', () => {
    const setpriv = setprivPrefix('/usr/bin/setpriv', 0x7000_0001);
    const root = bubblewrapPrefix('/usr/bin/bwrap', spec({ identity: { passwd: '/p', group: '/g' }, setpriv }));
    expect(at(root, '--ro-bind', '/p', '/etc/passwd')).toBeGreaterThan(0);
    expect(at(root, '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID')).toBeGreaterThan(0);
    expect(root.filter((a) => a === '--cap-add')).toHaveLength(2);
    expect(root.slice(-setpriv.length)).toEqual(setpriv);
  });

  it('covers the host paths a task could use to act outside the sandbox', () => {
    const masked = bubblewrapPrefix('/usr/bin/bwrap', spec({ masks: { dirs: ['/run/user'], files: ['/run/docker.sock'] } }));
    expect(at(masked, '--tmpfs', '/run/user')).toBeGreaterThan(0);
    expect(at(masked, '--ro-bind', '/dev/null', '/run/docker.sock')).toBeGreaterThan(0);
  });

  it('covers the agent’s home before the state dir inside it is mounted, and brings back read-only the programs installed there', () => {
    const masked = bubblewrapPrefix(
      '/usr/bin/bwrap',
      spec({
        masks: {
          dirs: ['/home/ay'],
          files: [],
          programs: programPrefixesIn(['/home/ay'], ['/usr/bin', '/home/ay/.nvm/versions/node/v20/bin', '/home/ay/tools']),
        },
      }),
    );
    const home = at(masked, '--tmpfs', '/home/ay');
    expect(home).toBeGreaterThan(0);
    expect(at(masked, '--ro-bind-try', '/home/ay/.nvm/versions/node/v20', '/home/ay/.nvm/versions/node/v20')).toBeGreaterThan(home);
    expect(at(masked, '--ro-bind-try', '/home/ay/tools', '/home/ay/tools')).toBeGreaterThan(home);
    expect(masked.filter((a) => a === '--ro-bind-try')).toHaveLength(2);
    expect(at(masked, '--tmpfs', '/s')).toBeGreaterThan(home);
    expect(programPrefixesIn(['/home/ay'], ['/home/ay/bin', '/home/ayx/bin', 'relative/bin'])).toEqual([]);
  });
});

describe('setprivPrefix', () => {
  it('drops to the uid with no groups, no inheritable capabilities and no_new_privs', () => {
    expect(setprivPrefix('/usr/bin/setpriv', 1879048193)).toEqual([
      '/usr/bin/setpriv',
      '--reuid=1879048193',
      '--regid=1879048193',
      '--clear-groups',
      '--no-new-privs',
      '--inh-caps=-all',
      '--',
    ]);
  });
});
