import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig } from './agent-config.loader';
import { flagName, OptionsError, parseByteSize, parseDuration, resolveWorkerOptions } from './worker-options';

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
      worktreeRetention: 86_400,
      worktreeDiskBudget: 10 * 1024 ** 3,
      prices: {},
    });
  });

  it('reads a price table inline or from a file, and names a bad price', () => {
    const table = { 'gpt-x': { inputPerMTok: 1.25, outputPerMTok: 10 } };
    expect(resolveWorkerOptions({}, { prices: table }).prices).toEqual(table);
    const file = join(mkdtempSync(join(tmpdir(), 'prices-')), 'prices.json');
    writeFileSync(file, JSON.stringify(table));
    expect(resolveWorkerOptions({ prices: file }).prices).toEqual(table);
    expect(() => resolveWorkerOptions({}, { prices: { 'gpt-x': { inputPerMTok: -1, outputPerMTok: 1 } } })).toThrow(
      '--prices (gpt-x.inputPerMTok): inputPerMTok must be 0 or more',
    );
    expect(() => resolveWorkerOptions({ prices: '/nonexistent/prices.yaml' })).toThrow('--prices: cannot read /nonexistent/prices.yaml: ENOENT');
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
    [{ worktreeRetention: '0' }, '--worktree-retention: must be positive, got "0"'],
    [{ worktreeRetention: -5 }, '--worktree-retention: must be positive, got -5'],
    [{ worktreeRetention: 'a day' }, '--worktree-retention: "a day" is not a duration (e.g. 3600, 90m, 24h or 7d)'],
    [{ worktreeRetention: '2w' }, '--worktree-retention: "2w" is not a duration'],
    [{ worktreeRetention: '400d' }, '--worktree-retention: must be at most 365d'],
    [{ worktreeDiskBudget: '0G' }, '--worktree-disk-budget: must be positive, got "0G"'],
    [{ worktreeDiskBudget: '-1G' }, '--worktree-disk-budget: "-1G" is not a size (e.g. 500M, 10G or 1T)'],
    [{ worktreeDiskBudget: '10X' }, '--worktree-disk-budget: "10X" is not a size'],
    [{ worktreeDiskBudget: true }, '--worktree-disk-budget: must be a size, e.g. 500M, 10G or 1T'],
  ])('rejects %j naming the flag', (flags, message) => {
    expect(() => resolveWorkerOptions(flags)).toThrow(OptionsError);
    expect(() => resolveWorkerOptions(flags)).toThrow(message);
  });

  it('reads the worktree retention and disk budget from flags with units and from YAML numbers', () => {
    expect(resolveWorkerOptions({ worktreeRetention: '90m', worktreeDiskBudget: '500M' })).toMatchObject({
      worktreeRetention: 5400,
      worktreeDiskBudget: 500 * 1024 ** 2,
    });
    expect(resolveWorkerOptions({}, { 'worktree-retention': 3600, 'worktree-disk-budget': 1_000_000 })).toMatchObject({
      worktreeRetention: 3600,
      worktreeDiskBudget: 1_000_000,
    });
  });

  it('rejects unknown keys in the config file', () => {
    expect(() => resolveWorkerOptions({}, { slotz: 2 })).toThrow('unknown option(s): --slotz');
  });

  it('names camelCase keys as flags', () => {
    expect(flagName('drainTimeout')).toBe('--drain-timeout');
  });
});

describe('parseDuration', () => {
  it.each([
    ['3600', 3600],
    ['1', 1],
    ['90s', 90],
    ['30m', 1800],
    ['24h', 86_400],
    ['1.5h', 5400],
    ['7d', 604_800],
    [' 2 H ', 7200],
  ])('reads %j as %d seconds', (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  it.each(['', 'h', '1y', '-1h', '1h30m', '1e3', 'soon'])('does not read %j', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('parseByteSize', () => {
  it.each([
    ['1048576', 1_048_576],
    ['100b', 100],
    ['512K', 512 * 1024],
    ['500M', 500 * 1024 ** 2],
    ['10G', 10 * 1024 ** 3],
    ['10GiB', 10 * 1024 ** 3],
    ['10gb', 10 * 1024 ** 3],
    ['1.5T', 1.5 * 1024 ** 4],
  ])('reads %j as %d bytes', (text, bytes) => expect(parseByteSize(text)).toBe(bytes));

  it.each(['', 'G', '10X', '10 GiBs', '100ib', '-1G', 'lots'])('does not read %j', (text) => expect(parseByteSize(text)).toBeUndefined());
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
