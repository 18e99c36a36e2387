import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig } from './agent-config.loader';
import { flagName, OptionsError, resolveWorkerOptions } from './worker-options';

const token = `ayr_${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}.${'a'.repeat(43)}`;

describe('resolveWorkerOptions', () => {
  it('applies defaults', () => {
    expect(resolveWorkerOptions({ url: 'http://host:8080' })).toEqual({
      url: 'http://host:8080',
      slots: 1,
      labels: [],
      stateDir: join(homedir(), '.agentyard'),
      drainTimeout: 60,
      isolation: 'auto',
      toolProbeInterval: 300,
      stallSeconds: 0,
      repoRoot: [],
    });
  });

  it('parses flag strings: numbers and comma-separated labels', () => {
    const options = resolveWorkerOptions({ url: 'http://h', slots: '4', labels: 'gpu, linux', drainTimeout: '5', token });
    expect(options).toMatchObject({ slots: 4, labels: ['gpu', 'linux'], drainTimeout: 5, token });
  });

  it('lets flags win over the config file, which wins over defaults', () => {
    const options = resolveWorkerOptions({ slots: '2' }, { url: 'http://from-file', slots: 8, 'state-dir': '/srv/ay', labels: ['a'] });
    expect(options).toMatchObject({ url: 'http://from-file', slots: 2, stateDir: '/srv/ay', labels: ['a'] });
  });

  it.each([
    [{ slots: '0' }, '--slots: must be at least 1'],
    [{ slots: 'many' }, '--slots'],
    [{ url: 'ftp://x' }, '--url: must be an http(s) URL'],
    [{ token: 'secret' }, '--token: is not a registration token'],
    [{ labels: 'GPU' }, '--labels'],
    [{ drainTimeout: '-1' }, '--drain-timeout'],
    [{ isolation: 'chroot' }, '--isolation: must be one of auto, bubblewrap, task-user, none'],
    [{ stallSeconds: '5' }, '--stall-seconds: must be 0 (off) or 10–86400 seconds'],
  ])('rejects %j naming the flag', (flags, message) => {
    expect(() => resolveWorkerOptions(flags)).toThrow(OptionsError);
    expect(() => resolveWorkerOptions(flags)).toThrow(message);
  });

  it('rejects unknown keys in the config file', () => {
    expect(() => resolveWorkerOptions({}, { slotz: 2 })).toThrow('unknown option(s): --slotz');
  });

  it('names camelCase keys as flags', () => {
    expect(flagName('drainTimeout')).toBe('--drain-timeout');
  });
});

describe('loadAgentConfig', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ayw-config-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a YAML mapping', () => {
    writeFileSync(join(dir, 'agent.yaml'), 'url: http://h:8080\nslots: 2\nlabels:\n  - gpu\n');
    expect(loadAgentConfig(join(dir, 'agent.yaml'))).toEqual({ url: 'http://h:8080', slots: 2, labels: ['gpu'] });
  });

  it('reports a missing file or a non-mapping as an OptionsError', () => {
    expect(() => loadAgentConfig(join(dir, 'missing.yaml'))).toThrow(OptionsError);
    writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
    expect(() => loadAgentConfig(join(dir, 'list.yaml'))).toThrow('must be a mapping');
  });
});
