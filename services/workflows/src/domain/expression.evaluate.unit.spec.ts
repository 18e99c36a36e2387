import { ExpressionError, parseExpression } from '@agentyard/contracts';
import { evaluate, evaluateCondition, renderDeep, renderTemplate, TemplateError } from './expression.evaluate';

const ctx = {
  nodes: { test: { exitCode: 1, output: { passed: false, items: [3, 4], name: "O'Brien" }, status: 'failed' } },
  run: { input: { repo: 'git@example:app', n: 2 } },
};

describe('expressions', () => {
  it('reads paths, compares, combines', () => {
    expect(evaluateCondition('nodes.test.exitCode != 0', ctx)).toBe(true);
    expect(evaluateCondition('nodes.test.exitCode != 0 && !nodes.test.output.passed', ctx)).toBe(true);
    expect(evaluateCondition('len(nodes.test.output.items) == run.input.n', ctx)).toBe(true);
    expect(evaluateCondition('nodes.test.output.items[1] > 3 || false', ctx)).toBe(true);
    expect(evaluateCondition('contains(nodes.test.output.items, 4) && startsWith(run.input.repo, "git@")', ctx)).toBe(true);
    expect(evaluateCondition("nodes.test.status == 'failed' ? true : false", ctx)).toBe(true);
    expect(evaluate(parseExpression('[1, run.input.n * 3]'), ctx)).toEqual([1, 6]);
  });

  it('treats a path that leads nowhere as null in a condition', () => {
    expect(evaluateCondition('nodes.test.output.missing.deeper == null', ctx)).toBe(true);
    expect(evaluateCondition('nodes.ghost.exitCode == 0', ctx)).toBe(false);
  });

  it('never reaches beyond plain data (no prototype, no constructor)', () => {
    expect(evaluate(parseExpression('run.constructor'), ctx)).toBeNull();
    expect(evaluate(parseExpression('run.input.__proto__'), ctx)).toBeNull();
    expect(evaluate(parseExpression('nodes.test.output.items.length'), ctx)).toBe(2);
  });

  it('refuses assignment, calls of anything but the built-ins, several statements, and says where', () => {
    expect(() => parseExpression('a = 1')).toThrow(ExpressionError);
    expect(() => parseExpression('process.exit(1)')).toThrow(/only the built-in functions/);
    expect(() => parseExpression('a; b')).toThrow(/one expression only/);
    expect(() => parseExpression('nodes.test.exitCode ==')).toThrow(/at character 22/);
  });
});

describe('templates', () => {
  it('writes values into text, and a lone placeholder keeps its type', () => {
    expect(renderTemplate('clone {{run.input.repo}} ({{nodes.test.exitCode}})', ctx)).toBe('clone git@example:app (1)');
    expect(renderTemplate('{{nodes.test.output.items}}', ctx)).toEqual([3, 4]);
    expect(renderTemplate('{{ nodes.test.output | json }}', ctx)).toBe('{"passed":false,"items":[3,4],"name":"O\'Brien"}');
    expect(renderDeep({ command: 'echo {{nodes.test.output.name | shell}}', env: { N: '{{run.input.n}}' } }, ctx)).toEqual({
      command: `echo 'O'\\''Brien'`,
      env: { N: 2 },
    });
  });

  it('refuses a path that leads nowhere, naming it', () => {
    expect(() => renderTemplate('{{nodes.test.output.steps}}', ctx)).toThrow(TemplateError);
    expect(() => renderTemplate('{{nodes.test.output.steps}}', ctx)).toThrow('{{nodes.test.output.steps}}: nodes.test.output has no field steps');
    expect(() => renderTemplate('{{nodes.test.output.items[5]}}', ctx)).toThrow('has no item 5');
  });
});
