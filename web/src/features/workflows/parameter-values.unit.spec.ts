import { describe, expect, it } from 'vitest';
import { parameterFields, parameterValues, textToValue } from './parameter-values';

describe('parameter values', () => {
  const params = [
    { name: 'agents', default: ['shell', 'shell'] },
    { name: 'count', default: 3 },
    { name: 'goal', default: 'a greeting' },
    { name: 'repo', required: true },
  ];

  it('shows defaults as text and sends untouched ones as the default itself', () => {
    const fields = parameterFields(params);
    expect(fields).toEqual({ agents: '["shell","shell"]', count: '3', goal: 'a greeting', repo: '' });
    expect(parameterValues(params, { ...fields, repo: 'x' }).values).toEqual({ agents: ['shell', 'shell'], count: 3, goal: 'a greeting', repo: 'x' });
  });

  it('reads JSON when it is JSON, text otherwise, and names required fields left empty', () => {
    expect(textToValue('[1, 2]')).toEqual([1, 2]);
    expect(textToValue('hello world')).toBe('hello world');
    const out = parameterValues(params, { agents: '["a","b","c"]', count: '5', goal: '42', repo: '' });
    // goal's default is text, so "42" stays text.
    expect(out.values).toEqual({ agents: ['a', 'b', 'c'], count: 5, goal: '42' });
    expect(out.missing).toEqual(['repo']);
  });
});
