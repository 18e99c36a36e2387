import { compareVersions, isAgentOutdated } from './agent-version.decide';

describe('isAgentOutdated', () => {
  it.each([
    ['0.1.0', '0.2.0', true],
    ['0.9.9', '0.10.0', true],
    ['1.2.3', '1.2.3', false],
    ['1.3.0', '1.2.9', false],
    ['1.0.0-rc.1', '1.0.0', true],
    ['1.0.0', '1.0.0-rc.1', false],
    ['1.0.0-rc.2', '1.0.0-rc.10', true],
    ['1.0.0-alpha', '1.0.0-alpha.1', true],
    ['1.0.0+build.5', '1.0.0', false],
  ])('%s against a platform serving %s: %s', (agent, platform, outdated) => {
    expect(isAgentOutdated(agent, platform)).toBe(outdated);
  });

  it('calls nothing outdated when the platform serves no package or a version does not parse', () => {
    expect(isAgentOutdated('0.0.1', undefined)).toBe(false);
    expect(isAgentOutdated('dev', '1.0.0')).toBe(false);
    expect(compareVersions('1.0', '1.0.0')).toBeUndefined();
  });
});
