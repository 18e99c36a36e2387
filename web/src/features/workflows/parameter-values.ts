/*
 * Parameter values typed into a form: the run input of "Run" (from the definition's parameters)
 * and a template's parameters. A value is read as JSON when it is JSON (`3`, `true`, `["a","b"]`)
 * and as text otherwise, so `hello` needs no quotes. Pure; tested in parameter-values.unit.spec.ts.
 */
import type { WorkflowParameter } from '@/api/client';

/** How a value is shown in its text field: strings as they are, anything else as JSON. */
export function valueToText(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The text of a field as a value: JSON if it parses, else the text itself. */
export function textToValue(text: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return text;
  }
}

/** The fields to show for parameters: each one's text, starting from its default. */
export function parameterFields(parameters: readonly WorkflowParameter[]): Record<string, string> {
  return Object.fromEntries(parameters.map((p) => [p.name, valueToText(p.default)]));
}

export interface ParameterValues {
  values: Record<string, unknown>;
  /** Required parameters left empty, by name. */
  missing: string[];
}

/**
 * The values to send: fields left empty are left out (the server applies the default); a field
 * whose text is still its default's is sent as the default itself (keeps `"3"` a string when the
 * default was the string "3").
 */
export function parameterValues(parameters: readonly WorkflowParameter[], fields: Record<string, string>): ParameterValues {
  const values: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const p of parameters) {
    const text = fields[p.name] ?? '';
    if (p.default !== undefined && text === valueToText(p.default)) {
      values[p.name] = p.default;
      continue;
    }
    const value = typeof p.default === 'string' ? (text.trim() === '' ? undefined : text) : textToValue(text);
    if (value === undefined) {
      if (p.required && p.default === undefined) missing.push(p.name);
      continue;
    }
    values[p.name] = value;
  }
  return { values, missing };
}
