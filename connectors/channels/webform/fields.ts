import type { FieldSpec } from './options.ts';

/** Checks submitted values against the declared fields; every problem is reported, keyed by field name. */

export interface FieldCheck {
  /** Declared fields that were present and valid, normalized to strings. */
  values: Record<string, string>;
  errors: Record<string, string>;
  /** Names of submitted fields that are not declared (kept out of the message). */
  ignored: string[];
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[\d\s().-]+$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TRUE = new Set(['true', 'on', '1', 'yes']);
const FALSE = new Set(['false', 'off', '0', 'no']);

export function checkFields(specs: Record<string, FieldSpec>, input: Record<string, unknown>, control: Set<string>): FieldCheck {
  const values: Record<string, string> = {};
  const errors: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const result = checkValue(spec, Object.hasOwn(input, name) ? input[name] : undefined);
    if ('error' in result) errors[name] = result.error;
    else if (result.value !== undefined) values[name] = result.value;
  }
  const ignored = Object.keys(input).filter((k) => !Object.hasOwn(specs, k) && !control.has(k));
  return { values, errors, ignored };
}

type ValueResult = { value: string | undefined } | { error: string };

function checkValue(spec: FieldSpec, raw: unknown): ValueResult {
  const text = asText(raw);
  if (text === null) return { error: 'must be a single value' };
  if (text === '') {
    if (!spec.required) return { value: undefined };
    return { error: spec.type === 'boolean' ? 'must be checked' : 'is required' };
  }
  if (codePoints(text, spec.maxLength) > spec.maxLength) {
    return { error: `must be at most ${spec.maxLength} characters` };
  }
  const typed = checkType(spec, text);
  if ('error' in typed) return typed;
  if (spec.enum && !spec.enum.includes(typed.value ?? '')) {
    return { error: `must be one of: ${spec.enum.join(', ')}` };
  }
  return typed;
}

function checkType(spec: FieldSpec, text: string): ValueResult {
  switch (spec.type) {
    case 'string':
      return { value: text };
    case 'email':
      return text.length <= 254 && EMAIL.test(text) ? { value: text } : { error: 'must be an email address' };
    case 'phone':
      return isPhone(text) ? { value: text } : { error: 'must be a phone number: digits, spaces, - ( ) and an optional leading +' };
    case 'number':
      return NUMBER.test(text) && Number.isFinite(Number(text)) ? { value: text } : { error: 'must be a number' };
    case 'boolean': {
      const lower = text.toLowerCase();
      if (TRUE.has(lower)) return { value: 'true' };
      if (FALSE.has(lower)) return spec.required ? { error: 'must be checked' } : { value: 'false' };
      return { error: 'must be true or false' };
    }
  }
}

/** '' for absent/blank, null for values that are not a single scalar (arrays, objects). */
function asText(raw: unknown): string | null {
  if (raw === undefined || raw === null) return '';
  if (typeof raw === 'string') return raw.trim();
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  return null;
}

function isPhone(text: string): boolean {
  if (!PHONE.test(text)) return false;
  const digits = text.replace(/\D/g, '').length;
  return digits >= 5 && digits <= 15;
}

/** Digits with the leading + kept: the form the helpdesk matches requesters on. */
export function normalizePhone(text: string): string {
  const digits = text.replace(/\D/g, '');
  return text.trimStart().startsWith('+') ? `+${digits}` : digits;
}

/** Counts characters, not UTF-16 units, so an emoji is one; stops early once over the limit. */
function codePoints(text: string, limit: number): number {
  if (text.length <= limit) return text.length;
  let n = 0;
  for (const _ of text) if (++n > limit) break;
  return n;
}
