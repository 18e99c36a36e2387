import { buildTaskEnv, withSecretValues } from './task-env';

describe('buildTaskEnv', () => {
  const host = { PATH: '/bin', HOME: '/home/me', SECRET_X: 'nope', AWS_SECRET_ACCESS_KEY: 'nope', LANG: 'C.UTF-8' };

  it('keeps only allow-listed host variables', () => {
    expect(buildTaskEnv(host, {})).toEqual({ PATH: '/bin', HOME: '/home/me', LANG: 'C.UTF-8', TERM: 'xterm-256color' });
  });

  it('adds the tool’s variables, then the task’s, the task winning', () => {
    const env = buildTaskEnv(host, { API_KEY: 'tool' }, { API_KEY: 'task', MY_VAR: '1' });
    expect(env).toMatchObject({ API_KEY: 'task', MY_VAR: '1' });
    expect(env.SECRET_X).toBeUndefined();
  });

  it('falls back to a standard PATH when the agent has none', () => {
    expect(buildTaskEnv({}, {}).PATH).toContain('/usr/bin');
  });
});

describe('withSecretValues', () => {
  it('replaces secret references by their values and keeps plain values', () => {
    expect(withSecretValues({ A: 'plain', TOKEN: { secret: 'gh' }, AGAIN: { secret: 'gh' } }, { gh: 'v4lue' })).toEqual({
      A: 'plain',
      TOKEN: 'v4lue',
      AGAIN: 'v4lue',
    });
  });

  it('refuses to start without a value for a reference, naming it', () => {
    expect(() => withSecretValues({ TOKEN: { secret: 'gh' } }, {})).toThrow('the platform sent no value for secret gh (env TOKEN)');
  });
});
