/*
 * The workflow expression language: edge conditions (`nodes.test.exitCode != 0`) and template
 * placeholders (`{{nodes.plan.output.steps | json}}`). Parsed by jsep into an AST that is only
 * ever walked by our own evaluator (services/workflows, domain/expression.evaluate.ts) — there
 * is no `eval`, no `Function`, no property access beyond plain JSON data, no regular
 * expressions (no ReDoS), no assignment and no loops, so an expression always terminates in
 * time linear in its size and the data it touches.
 *
 * The parser lives in contracts so the dashboard's editor validates a condition as it is typed
 * with exactly the rules the service applies (errors carry the 0-based character position).
 *
 * Grammar (a subset of JavaScript expressions):
 *   literals    1  2.5  'text'  "text"  true  false  null  [1, 'a']
 *   paths       nodes.test.exitCode   run.input.repo   nodes.plan.output.steps[0]   inputs["a"]
 *   operators   == != < <= > >= && || ! unary -  + - * / %   a ? b : c
 *   functions   len(x) contains(haystack, needle) startsWith(s, p) endsWith(s, p) lower(s) upper(s)
 *               trim(s) string(x) number(x) keys(o)
 */
import jsepModule from 'jsep';

// jsep ships CommonJS with a default export; under swc's interop the default may be nested.
const jsep = ((jsepModule as unknown as { default?: typeof jsepModule }).default ?? jsepModule) as typeof jsepModule;

/** The AST node kinds the evaluator understands (jsep's, restricted). */
export type ExpressionNode =
  | { type: 'Literal'; value: string | number | boolean | null }
  | { type: 'Identifier'; name: string }
  | { type: 'MemberExpression'; computed: boolean; object: ExpressionNode; property: ExpressionNode }
  | { type: 'BinaryExpression'; operator: string; left: ExpressionNode; right: ExpressionNode }
  | { type: 'UnaryExpression'; operator: string; argument: ExpressionNode }
  | { type: 'ConditionalExpression'; test: ExpressionNode; consequent: ExpressionNode; alternate: ExpressionNode }
  | { type: 'CallExpression'; callee: ExpressionNode; arguments: ExpressionNode[] }
  | { type: 'ArrayExpression'; elements: ExpressionNode[] };

/** Functions an expression may call, with their arity. */
export const expressionFunctions: Readonly<Record<string, number>> = {
  len: 1,
  contains: 2,
  startsWith: 2,
  endsWith: 2,
  lower: 1,
  upper: 1,
  trim: 1,
  string: 1,
  number: 1,
  keys: 1,
};

const binaryOperators = new Set(['==', '!=', '<', '<=', '>', '>=', '&&', '||', '+', '-', '*', '/', '%']);
const unaryOperators = new Set(['!', '-']);
/** Longest expression text accepted (conditions and single placeholders). */
export const expressionMaxLength = 2_000;

/** A syntax or vocabulary error, with the 0-based character position when the parser knows it. */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(position === undefined ? message : `${message} (at character ${position})`);
    this.name = 'ExpressionError';
  }
}

/** Parses an expression; throws ExpressionError naming the problem (and where) when it is not one. */
export function parseExpression(text: string): ExpressionNode {
  if (text.length > expressionMaxLength) throw new ExpressionError(`expression longer than ${expressionMaxLength} characters`);
  if (text.trim() === '') throw new ExpressionError('expression is empty', 0);
  let ast: unknown;
  try {
    ast = jsep(text);
  } catch (error) {
    const e = error as { description?: string; index?: number; message?: string };
    throw new ExpressionError(e.description ?? e.message ?? 'syntax error', e.index);
  }
  return check(ast as Record<string, unknown>);
}

/** Checks a jsep node is in our subset; returns it typed. */
function check(node: Record<string, unknown>): ExpressionNode {
  switch (node.type) {
    case 'Literal': {
      const v = node.value;
      if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
        throw new ExpressionError(`unsupported literal ${String(node.raw)}`);
      return { type: 'Literal', value: v };
    }
    case 'Identifier':
      if (node.name === 'true' || node.name === 'false') return { type: 'Literal', value: node.name === 'true' };
      if (node.name === 'null') return { type: 'Literal', value: null };
      return { type: 'Identifier', name: String(node.name) };
    case 'MemberExpression': {
      const property = node.computed
        ? check(node.property as Record<string, unknown>)
        : { type: 'Identifier' as const, name: String((node.property as { name: string }).name) };
      if (node.computed && property.type !== 'Literal') throw new ExpressionError('an index must be a literal, e.g. steps[0] or nodes["a"]');
      return { type: 'MemberExpression', computed: Boolean(node.computed), object: check(node.object as Record<string, unknown>), property };
    }
    case 'BinaryExpression':
      if (!binaryOperators.has(String(node.operator))) {
        const instead = ({ '===': '==', '!==': '!=' } as Record<string, string>)[String(node.operator)];
        throw new ExpressionError(`operator ${String(node.operator)} is not supported${instead ? ` (write ${instead})` : ''}`);
      }
      return {
        type: 'BinaryExpression',
        operator: String(node.operator),
        left: check(node.left as Record<string, unknown>),
        right: check(node.right as Record<string, unknown>),
      };
    case 'UnaryExpression':
      if (!unaryOperators.has(String(node.operator))) throw new ExpressionError(`operator ${String(node.operator)} is not supported`);
      return { type: 'UnaryExpression', operator: String(node.operator), argument: check(node.argument as Record<string, unknown>) };
    case 'ConditionalExpression':
      return {
        type: 'ConditionalExpression',
        test: check(node.test as Record<string, unknown>),
        consequent: check(node.consequent as Record<string, unknown>),
        alternate: check(node.alternate as Record<string, unknown>),
      };
    case 'CallExpression': {
      const callee = node.callee as { type: string; name?: string };
      if (callee.type !== 'Identifier' || callee.name === undefined) throw new ExpressionError('only the built-in functions can be called');
      const arity = expressionFunctions[callee.name];
      if (arity === undefined) throw new ExpressionError(`unknown function ${callee.name}; known: ${Object.keys(expressionFunctions).join(', ')}`);
      const args = (node.arguments as Record<string, unknown>[]).map(check);
      if (args.length !== arity) throw new ExpressionError(`${callee.name} takes ${arity} argument${arity === 1 ? '' : 's'}, got ${args.length}`);
      return { type: 'CallExpression', callee: { type: 'Identifier', name: callee.name }, arguments: args };
    }
    case 'ArrayExpression':
      return {
        type: 'ArrayExpression',
        elements: (node.elements as (Record<string, unknown> | null)[]).map((e) => (e === null ? { type: 'Literal', value: null } : check(e))),
      };
    case 'Compound':
      throw new ExpressionError('one expression only (no ";" or ",")');
    default:
      throw new ExpressionError(`unsupported syntax (${String(node.type)})`);
  }
}

/** Roots a path may start at. */
export type ExpressionRoot = 'nodes' | 'run' | 'node' | 'inputs' | 'step';

/**
 * The data paths an expression reads, as the leading identifiers: `nodes.test.exitCode` →
 * { root: 'nodes', key: 'test' }. Used to check statically that a condition only names nodes
 * that exist and run before it.
 */
export function referencedPaths(ast: ExpressionNode): { root: string; key: string | undefined }[] {
  const out: { root: string; key: string | undefined }[] = [];
  const walk = (n: ExpressionNode): void => {
    switch (n.type) {
      case 'Identifier':
        out.push({ root: n.name, key: undefined });
        return;
      case 'MemberExpression': {
        const chain: ExpressionNode[] = [];
        let cur: ExpressionNode = n;
        while (cur.type === 'MemberExpression') {
          chain.unshift(cur);
          cur = cur.object;
        }
        if (cur.type === 'Identifier') {
          const first = chain[0] as Extract<ExpressionNode, { type: 'MemberExpression' }>;
          const prop = first.property;
          const key = prop.type === 'Identifier' ? prop.name : prop.type === 'Literal' ? String(prop.value) : undefined;
          out.push({ root: cur.name, key });
        } else walk(cur);
        return;
      }
      case 'BinaryExpression':
        walk(n.left);
        walk(n.right);
        return;
      case 'UnaryExpression':
        walk(n.argument);
        return;
      case 'ConditionalExpression':
        walk(n.test);
        walk(n.consequent);
        walk(n.alternate);
        return;
      case 'CallExpression':
        n.arguments.forEach(walk);
        return;
      case 'ArrayExpression':
        n.elements.forEach(walk);
        return;
      case 'Literal':
        return;
    }
  };
  walk(ast);
  return out;
}

/** Filters a placeholder may end with, applied left to right: `| json` (JSON text), `| shell` (one quoted shell word). */
export const templateFilters = ['json', 'shell'] as const;
export type TemplateFilter = (typeof templateFilters)[number];

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'expr'; source: string; ast: ExpressionNode; filters: TemplateFilter[] };

const placeholder = /\{\{([\s\S]*?)\}\}/g;
const filterSuffix = /(?<!\|)\|\s*([A-Za-z]+)\s*$/;

/** True when the string holds at least one `{{…}}` placeholder. */
export function hasPlaceholders(text: string): boolean {
  return text.includes('{{');
}

/**
 * Splits a template string into text and parsed placeholders; throws ExpressionError (position
 * counted in the whole string) when a placeholder does not parse or is not closed.
 */
export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of text.matchAll(placeholder)) {
    const at = m.index ?? 0;
    if (at > last) parts.push({ kind: 'text', text: text.slice(last, at) });
    let source = m[1]!;
    const filters: TemplateFilter[] = [];
    for (let f = filterSuffix.exec(source); f; f = filterSuffix.exec(source)) {
      if (!(templateFilters as readonly string[]).includes(f[1]!))
        throw new ExpressionError(`unknown filter ${f[1]}; known: ${templateFilters.join(', ')}`, at + 2 + (f.index ?? 0));
      filters.unshift(f[1] as TemplateFilter);
      source = source.slice(0, f.index);
    }
    try {
      parts.push({ kind: 'expr', source: source.trim(), ast: parseExpression(source), filters });
    } catch (error) {
      if (error instanceof ExpressionError)
        throw new ExpressionError(`in {{${m[1]}}}: ${error.message.replace(/ \(at character \d+\)$/, '')}`, at + 2 + (error.position ?? 0));
      throw error;
    }
    last = at + m[0].length;
  }
  const rest = text.slice(last);
  const open = rest.indexOf('{{');
  if (open >= 0) throw new ExpressionError('placeholder opened with {{ is not closed with }}', last + open);
  if (rest) parts.push({ kind: 'text', text: rest });
  return parts;
}
