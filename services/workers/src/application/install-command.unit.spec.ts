import { execFileSync } from 'node:child_process';
import { installCommand, shellQuote } from './install-command';

const pkg = { version: '1.2.3', file: 'agentyard-worker-1.2.3.tgz', sha256: 'a'.repeat(64) };
const token = `ayr_${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}.${'B'.repeat(43)}`;

describe('installCommand', () => {
  it('downloads from the platform, checks the sha256, installs that file into its own prefix and starts the installed copy', () => {
    const command = installCommand({ publicUrl: 'https://yard.example.com', token, pkg });
    const [download, install, start] = command.split(' && ');
    expect(download).toMatch(
      /^node -e '.+' https:\/\/yard\.example\.com\/downloads\/agentyard-worker-1\.2\.3\.tgz a{64} ~\/\.agentyard-worker\/agentyard-worker-1\.2\.3\.tgz$/,
    );
    expect(install).toBe(
      'npm install --global --prefix ~/.agentyard-worker/1.2.3 --allow-scripts=node-pty --no-fund --no-audit ~/.agentyard-worker/agentyard-worker-1.2.3.tgz',
    );
    expect(start).toBe(
      `PATH=~/.agentyard-worker/1.2.3/bin:"$PATH" ~/.agentyard-worker/1.2.3/bin/agentyard-worker start --url https://yard.example.com --token ${token}`,
    );
    expect(command).not.toContain('npx');
  });

  it('keeps the download check a single-quoted word (no quote inside to break out of)', () => {
    const script = /^node -e '([^']+)' /.exec(installCommand({ publicUrl: 'http://h', token, pkg }))?.[1];
    expect(script).toContain('createHash("sha256")');
    expect(script).toContain('checksum mismatch');
    expect(script).toContain('python3, make and g++');
    expect(script).toContain('needs Node.js 20.19 or later');
  });

  it('says on the machine that this platform has no package, and fails, when none is built', () => {
    const command = installCommand({ publicUrl: 'http://h', token, pkg: undefined });
    expect(command).toMatch(/no worker package built .*; false$/);
    expect(() => execFileSync('bash', ['-c', command], { stdio: 'pipe' })).toThrow(/no worker package built/);
  });
});

describe('shellQuote', () => {
  it('leaves plain URLs and tokens bare and quotes the rest', () => {
    expect(shellQuote('https://h:8080/p')).toBe('https://h:8080/p');
    expect(shellQuote(token)).toBe(token);
    expect(shellQuote('http://h/?a&b')).toBe(`'http://h/?a&b'`);
  });

  it.each([["it's"], ['$(touch /tmp/x) `id` "q" \\ ; & |'], [''], ['https://h.example/a?b=1&c=2#d'], ['~/x'], ['https://h:8080/p']])(
    'gives bash back %j unchanged',
    (value) => {
      expect(execFileSync('bash', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' })).toBe(value);
    },
  );
});
