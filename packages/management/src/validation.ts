/**
 * Turns the first problem zod found in a request into a 400 that names the field, the value and the
 * rule (`body.maxSize = 0: must be at least 1`), in the API's error format.
 */
import type { z } from '@hono/zod-openapi';
import { ManagementError } from './errors.js';

const PREFIX: Record<string, string> = { json: 'body', query: 'query', param: 'path' };

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  if (json === undefined) return String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function at(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

const ARTICLE: Record<string, string> = {
  object: 'an object',
  array: 'an array',
  int: 'an integer',
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
};

/** The error for a failed validation of `target` (`json`, `query`, `param`). */
export function validationError(error: z.ZodError, target: string, data: unknown, known: readonly string[]): ManagementError {
  const prefix = PREFIX[target] ?? target;
  const issue = error.issues[0] as z.core.$ZodIssue;
  const field = [prefix, ...issue.path.map(String)].join('.');
  const value = at(data, issue.path);
  if (target === 'query' && Array.isArray(value)) return new ManagementError(400, `${field} is given more than once`, { field });
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0] as string;
      const f = `${field}.${key}`;
      if (target === 'query') {
        return new ManagementError(
          400,
          `${f} is not a parameter of this endpoint${known.length === 0 ? ' (it takes none)' : `; known: ${known.join(', ')}`}`,
          { field: f },
        );
      }
      return new ManagementError(
        400,
        `${f} is not a known field${known.length === 0 ? ' (this endpoint takes none)' : `; known: ${known.join(', ')}`}`,
        { field: f },
      );
    }
    case 'invalid_type': {
      if (value === undefined && issue.path.length > 0) return new ManagementError(400, `${field} is required`, { field });
      const expected = ARTICLE[issue.expected] ?? issue.expected;
      return new ManagementError(400, `${field} = ${show(value)}: must be ${expected}`, { field });
    }
    case 'too_small':
      return new ManagementError(
        400,
        issue.origin === 'string'
          ? `${field} = ${show(value)}: must have at least ${issue.minimum} characters`
          : `${field} = ${show(value)}: must be at least ${issue.minimum}`,
        { field },
      );
    case 'too_big':
      return new ManagementError(
        400,
        issue.origin === 'string'
          ? `${field}: must have at most ${issue.maximum} characters`
          : `${field} = ${show(value)}: must be at most ${issue.maximum}`,
        { field },
      );
    case 'invalid_value':
      return new ManagementError(
        400,
        `${field} = ${show(value)}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`,
        { field },
      );
    default:
      return new ManagementError(
        400,
        `${field}${value === undefined || issue.path.length === 0 ? '' : ` = ${show(value)}`}: ${issue.message}`,
        {
          field,
        },
      );
  }
}
