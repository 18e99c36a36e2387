import { buildTaskEnv } from './task-env';

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
