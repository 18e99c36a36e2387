import { execFileSync } from 'node:child_process';
import { credentialForms, maskCredential, sshCommand, tokenGitEnv } from './repo-credentials';

const decodeHeader = (value: string): string => Buffer.from(value.replace(/^Authorization: Basic /, ''), 'base64').toString('utf8');

describe('A token credential', () => {
  it('becomes an env-only Authorization header for the repository’s scheme, host and port, never a URL or argv', () => {
    const env = tokenGitEnv('https://git.example.com:8443/team/app.git', { value: 'tok-123456' });
    expect(Object.keys(env).sort()).toEqual(['GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0']);
    expect(env.GIT_CONFIG_COUNT).toBe('1');
    expect(env.GIT_CONFIG_KEY_0).toBe('http.https://git.example.com:8443/.extraHeader');
    expect(env.GIT_CONFIG_VALUE_0).toMatch(/^Authorization: Basic [A-Za-z0-9+/]+=*$/);
    expect(decodeHeader(env.GIT_CONFIG_VALUE_0!)).toBe('x-access-token:tok-123456');
  });

  it('uses the username given, and drops a path, query or user info of the URL from the scope', () => {
    const env = tokenGitEnv('http://someone@localhost:3000/a/b.git?x=1', { value: 'tok-123456', username: 'oauth2' });
    expect(env.GIT_CONFIG_KEY_0).toBe('http.http://localhost:3000/.extraHeader');
    expect(decodeHeader(env.GIT_CONFIG_VALUE_0!)).toBe('oauth2:tok-123456');
  });

  it('is scoped by git to its host: git reads the header for that host and not for another one', () => {
    const env = tokenGitEnv('https://git.example.com/team/app.git', { value: 'tok-123456' });
    const urlmatch = (url: string): string => {
      try {
        return execFileSync('git', ['config', '--get-urlmatch', 'http.extraHeader', url], {
          env: { PATH: process.env.PATH, HOME: '/nonexistent', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', ...env },
          encoding: 'utf8',
        }).trim();
      } catch {
        return ''; // exit 1: no value for this URL
      }
    };
    expect(urlmatch('https://git.example.com/team/app.git')).toBe(env.GIT_CONFIG_VALUE_0);
    expect(urlmatch('https://git.example.com/other/repo.git')).toBe(env.GIT_CONFIG_VALUE_0);
    for (const other of ['https://evil.example.com/team/app.git', 'http://git.example.com/team/app.git', 'https://git.example.com:444/team/app.git']) {
      expect({ other, header: urlmatch(other) }).toEqual({ other, header: '' });
    }
  });
});

describe('An ssh deploy key', () => {
  it('is used only with its own key file, no prompts, and trust on first use against the given known_hosts files', () => {
    const command = sshCommand('/state/credentials/key-1/id', ['/state/ssh/known_hosts', '/root/.ssh/known_hosts']);
    expect(command).toBe(
      "ssh -i '/state/credentials/key-1/id' -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o 'UserKnownHostsFile=/state/ssh/known_hosts /root/.ssh/known_hosts'",
    );
  });

  it('keeps a path with spaces or quotes one word for the shell git runs the command with', () => {
    const command = sshCommand("/st ate/it's/id", ['/k h/known_hosts']);
    const words = execFileSync('sh', ['-c', `printf '%s\\n' ${command.replace(/^ssh /, '')}`], { encoding: 'utf8' })
      .trimEnd()
      .split('\n');
    expect(words).toEqual([
      '-i',
      "/st ate/it's/id",
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=accept-new',
      '-o',
      'UserKnownHostsFile=/k h/known_hosts',
    ]);
  });
});

describe('Masking a credential in git’s messages', () => {
  it('hides a token, its Basic form and its URL-encoded form', () => {
    const credential = { kind: 'token' as const, value: 'tok/en+123' };
    const basic = Buffer.from('x-access-token:tok/en+123').toString('base64');
    const text = `fatal: tok/en+123 / Authorization: Basic ${basic} / https://u:tok%2Fen%2B123@h/`;
    expect(maskCredential(text, credential)).toBe('fatal: *** / Authorization: Basic *** / https://u:***@h/');
    expect(credentialForms(credential)).toEqual(['tok/en+123', basic, 'tok%2Fen%2B123']);
  });

  it('hides a token sent with another username', () => {
    const basic = Buffer.from('oauth2:secret-value').toString('base64');
    expect(maskCredential(`got Basic ${basic}`, { kind: 'token', value: 'secret-value', username: 'oauth2' })).toBe('got Basic ***');
  });

  it('hides a deploy key whole and each of its lines of 16 characters or more, leaving shorter ones', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nQyNTUxOQAAACBd\n-----END OPENSSH PRIVATE KEY-----';
    const masked = maskCredential(`key:\n${key}\nline b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ alone`, { kind: 'ssh-key', value: key });
    expect(masked).toBe('key:\n***\nline *** alone');
    expect(maskCredential('QyNTUxOQAAACBd', { kind: 'ssh-key', value: key })).toBe('QyNTUxOQAAACBd');
  });

  it('leaves a text alone without a credential, and does not mask a value under 4 characters', () => {
    expect(maskCredential('could not read Username', undefined)).toBe('could not read Username');
    expect(maskCredential('abc abc', { kind: 'token', value: 'abc' })).toBe('abc abc');
  });
});
