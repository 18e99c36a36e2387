/*
 * The create-API-token form as plain data: the scopes and limits come from the contracts
 * (createApiTokenBodySchema), so the form and the gateway agree on what is valid.
 */
import { apiTokenScopes, type ApiTokenScope, type CreateApiTokenBody } from '@agentyard/contracts';

export const scopeOptions: { value: ApiTokenScope; label: string; hint: string }[] = apiTokenScopes.map((value) => {
  const [area, access] = value.split(':') as [string, string];
  return { value, label: value, hint: `${access === 'read' ? 'Read' : 'Create and change'} ${area}` };
});

export const nameMax = 100;
export const expiryMaxDays = 365;

export interface ApiTokenForm {
  name: string;
  scopes: ApiTokenScope[];
  /** Days until it expires; null = never. */
  expiresInDays: number | null;
}

export const emptyApiTokenForm = (): ApiTokenForm => ({ name: '', scopes: [], expiresInDays: 30 });

export type ApiTokenFormErrors = Partial<Record<'name' | 'scopes' | 'expiresInDays', string>>;

export function validateApiTokenForm(form: ApiTokenForm): ApiTokenFormErrors {
  const e: ApiTokenFormErrors = {};
  const name = form.name.trim();
  if (!name) e.name = 'Give the token a name';
  else if (name.length > nameMax) e.name = `At most ${nameMax} characters`;
  if (form.scopes.length === 0) e.scopes = 'Choose at least one scope';
  const d = form.expiresInDays;
  if (d !== null && (!Number.isInteger(d) || d < 1 || d > expiryMaxDays))
    e.expiresInDays = `A whole number of days from 1 to ${expiryMaxDays}, or empty for never`;
  return e;
}

export function toCreateApiTokenBody(form: ApiTokenForm): CreateApiTokenBody {
  const scopes = apiTokenScopes.filter((s) => form.scopes.includes(s));
  return { name: form.name.trim(), scopes, ...(form.expiresInDays === null ? {} : { expiresInDays: form.expiresInDays }) };
}
