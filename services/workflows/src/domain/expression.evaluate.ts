/*
 * Evaluates the workflow expression language (parsed in contracts/src/workflows/expression.ts)
 * over plain JSON data: edge conditions and template placeholders. Pure and total: it walks our
 * own AST, reads only own properties of plain objects (never `constructor`, `__proto__`), calls
 * only the listed built-ins, and so cannot run code, loop or touch anything but the data given.
 *
 * Conditions are lenient: a path that leads nowhere is null, so `nodes.test.output.passed ==
 * true` is simply false before the test wrote any output. Templates are strict: a placeholder
 * whose path leads nowhere is an error naming the path, so a typo fails the node with a message
 * instead of running `rm -rf /` with an empty variable.
 */
import { parseExpression, parseTemplate, type ExpressionNode, type TemplateFilter } from '@agentyard/contracts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The data an expression sees: `nodes`, `run`, `node`, `inputs`, `step`. */
export type ExpressionContext = Readonly<Record<string, unknown>>;

/** A template placeholder that cannot be rendered (unknown path, value not renderable). */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JS-like truthiness: null, false, 0, NaN and '' are false. */
export function truthy(v: unknown): boolean {
  return !(v === null || v === undefined || v === false || v === 0 || v === '' || (typeof v === 'number' && Number.isNaN(v)));
}

/** JSON with sorted keys: equal values give equal text (vote, ==). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v ?? null);
}

function pathText(n: ExpressionNode): string {
  if (n.type === 'Identifier') return n.name;
  if (n.type === 'MemberExpression') {
    const prop = n.property;
    const key = prop.type === 'Identifier' ? prop.name : prop.type === 'Literal' ? prop.value : '?';
    return n.computed ? `${pathText(n.object)}[${JSON.stringify(key)}]` : `${pathText(n.object)}.${String(key)}`;
  }
  return '(expression)';
}

function member(object: unknown, key: string | number | boolean | null): { found: boolean; value: unknown } {
  if (Array.isArray(object)) {
    if (typeof key === 'number' && Number.isInteger(key)) {
      const i = key < 0 ? object.length + key : key;
      return i >= 0 && i < object.length ? { found: true, value: object[i] } : { found: false, value: null };
    }
    if (key === 'length') return { found: true, value: object.length };
    return { found: false, value: null };
  }
  if (isObject(object) && typeof key === 'string' && Object.prototype.hasOwnProperty.call(object, key)) return { found: true, value: object[key] };
  return { found: false, value: null };
}

function compare(op: string, a: unknown, b: unknown): boolean {
  const comparable = (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
  if (!comparable) return false;
  const x = a as number | string;
  const y = b as number | string;
  switch (op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    default:
      return x >= y;
  }
}

function arithmetic(op: string, a: unknown, b: unknown): unknown {
  if (op === '+' && (typeof a === 'string' || typeof b === 'string')) return textOf(a) + textOf(b);
  if (typeof a !== 'number' || typeof b !== 'number') return null;
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0 ? null : a / b;
    default:
      return b === 0 ? null : a % b;
  }
}

function call(name: string, args: unknown[]): unknown {
  const [a, b] = args;
  switch (name) {
    case 'len':
      return typeof a === 'string' || Array.isArray(a) ? a.length : isObject(a) ? Object.keys(a).length : 0;
    case 'contains':
      if (typeof a === 'string') return typeof b === 'string' && a.includes(b);
      if (Array.isArray(a)) return a.some((x) => canonicalJson(x) === canonicalJson(b));
      if (isObject(a)) return typeof b === 'string' && Object.prototype.hasOwnProperty.call(a, b);
      return false;
    case 'startsWith':
      return typeof a === 'string' && typeof b === 'string' && a.startsWith(b);
    case 'endsWith':
      return typeof a === 'string' && typeof b === 'string' && a.endsWith(b);
    case 'lower':
      return typeof a === 'string' ? a.toLowerCase() : null;
    case 'upper':
      return typeof a === 'string' ? a.toUpperCase() : null;
    case 'trim':
      return typeof a === 'string' ? a.trim() : null;
    case 'string':
      return textOf(a);
    case 'number': {
      const n = typeof a === 'number' ? a : typeof a === 'string' && a.trim() !== '' ? Number(a) : NaN;
      return Number.isFinite(n) ? n : null;
    }
    case 'keys':
      return isObject(a) ? Object.keys(a).sort() : [];
    default:
      return null;
  }
}

/** Evaluates a parsed expression. `strict`: a path that leads nowhere throws TemplateError. */
export function evaluate(node: ExpressionNode, ctx: ExpressionContext, strict = false): unknown {
  switch (node.type) {
    case 'Literal':
      return node.value;
    case 'Identifier': {
      const { found, value } = member(ctx, node.name);
      if (!found && strict) throw new TemplateError(`${node.name} is not defined here`);
      return found ? value : null;
    }
    case 'MemberExpression': {
      const object = evaluate(node.object, ctx, strict);
      const prop = node.property;
      const key = prop.type === 'Identifier' ? prop.name : prop.type === 'Literal' ? prop.value : null;
      const { found, value } = member(object, key);
      if (!found && strict) {
        const where = pathText(node.object);
        throw new TemplateError(
          object === null || object === undefined ? `${where} is empty` : `${where} has no ${typeof key === 'number' ? `item ${key}` : `field ${String(key)}`}`,
        );
      }
      return found ? value : null;
    }
    case 'UnaryExpression': {
      const v = evaluate(node.argument, ctx, strict);
      return node.operator === '!' ? !truthy(v) : typeof v === 'number' ? -v : null;
    }
    case 'BinaryExpression': {
      if (node.operator === '&&') return truthy(evaluate(node.left, ctx, strict)) && truthy(evaluate(node.right, ctx, strict));
      if (node.operator === '||') return truthy(evaluate(node.left, ctx, strict)) || truthy(evaluate(node.right, ctx, strict));
      const a = evaluate(node.left, ctx, strict);
      const b = evaluate(node.right, ctx, strict);
      switch (node.operator) {
        case '==':
          return canonicalJson(a) === canonicalJson(b);
        case '!=':
          return canonicalJson(a) !== canonicalJson(b);
        case '<':
        case '<=':
        case '>':
        case '>=':
          return compare(node.operator, a, b);
        default:
          return arithmetic(node.operator, a, b);
      }
    }
    case 'ConditionalExpression':
      return truthy(evaluate(node.test, ctx, strict)) ? evaluate(node.consequent, ctx, strict) : evaluate(node.alternate, ctx, strict);
    case 'CallExpression':
      return call(
        (node.callee as { name: string }).name,
        node.arguments.map((a) => evaluate(a, ctx, strict)),
      );
    case 'ArrayExpression':
      return node.elements.map((e) => evaluate(e, ctx, strict));
  }
}

/** Evaluates a condition's text to a boolean (lenient paths). Throws ExpressionError when it does not parse. */
export function evaluateCondition(text: string, ctx: ExpressionContext): boolean {
  return truthy(evaluate(parseExpression(text), ctx));
}

/** How a value is written into text: strings as they are, null as nothing, the rest as JSON. */
export function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** One POSIX shell word: single-quoted, with embedded quotes closed and escaped. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function applyFilters(v: unknown, filters: readonly TemplateFilter[]): unknown {
  return filters.reduce<unknown>((value, filter) => (filter === 'json' ? JSON.stringify(value ?? null) : shellQuote(textOf(value))), v);
}

/**
 * Renders a template string. A string that is exactly one placeholder yields the value itself
 * (an object stays an object); otherwise placeholders are written into the text. Throws
 * TemplateError (unknown path) or ExpressionError (syntax), both naming the placeholder.
 */
export function renderTemplate(text: string, ctx: ExpressionContext): unknown {
  if (!text.includes('{{')) return text;
  const parts = parseTemplate(text);
  const value = (p: Extract<(typeof parts)[number], { kind: 'expr' }>): unknown => {
    try {
      return applyFilters(evaluate(p.ast, ctx, true), p.filters);
    } catch (error) {
      if (error instanceof TemplateError) throw new TemplateError(`{{${p.source}}}: ${error.message}`);
      throw error;
    }
  };
  if (parts.length === 1 && parts[0]!.kind === 'expr') return value(parts[0]!);
  return parts.map((p) => (p.kind === 'text' ? p.text : textOf(value(p)))).join('');
}

/** Renders every string inside a JSON value (object keys stay as they are). */
export function renderDeep(value: unknown, ctx: ExpressionContext): unknown {
  if (typeof value === 'string') return renderTemplate(value, ctx);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, ctx));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, ctx)]));
  return value;
}

/** Every template string inside a JSON value, with its path (for static checks). */
export function templateStrings(value: unknown, path: string[] = []): { path: string[]; text: string }[] {
  if (typeof value === 'string') return value.includes('{{') ? [{ path, text: value }] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => templateStrings(v, [...path, String(i)]));
  if (isObject(value)) return Object.entries(value).flatMap(([k, v]) => templateStrings(v, [...path, k]));
  return [];
}
