/**
 * The subset of JSON Schema (2020-12, as OpenAPI 3.1 uses it) this package writes its request and
 * response schemas in. One schema serves both the OpenAPI document and the request validation, so
 * the document cannot drift from what the API accepts.
 */
export interface JsonSchema {
  type?: JsonType | readonly JsonType[];
  description?: string;
  properties?: Readonly<Record<string, JsonSchema>>;
  required?: readonly string[];
  additionalProperties?: boolean | JsonSchema;
  minProperties?: number;
  items?: JsonSchema;
  enum?: readonly (string | number | boolean | null)[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  format?: string;
  $ref?: string;
  examples?: readonly unknown[];
}

/** A JSON Schema type name. */
export type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

function typeOf(value: unknown): JsonType | 'undefined' | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(value) ? 'integer' : 'number';
    case 'object':
      return 'object';
    case 'undefined':
      return 'undefined';
    default:
      return 'other';
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  const json = JSON.stringify(value);
  if (json === undefined) return String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** A value that broke a schema: where, and the rule. */
export interface SchemaViolation {
  /** The path of the offending value, e.g. `body.maxSize`. */
  path: string;
  /** What was wrong, naming the value and the rule. */
  message: string;
}

/**
 * Checks `value` against `schema` and returns the first violation, or `null`. `$ref`s are resolved in
 * `components` (`#/components/schemas/<Name>`).
 */
export function validateSchema(
  schema: JsonSchema,
  value: unknown,
  path: string,
  components: Readonly<Record<string, JsonSchema>> = {},
): SchemaViolation | null {
  if (schema.$ref !== undefined) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = components[name];
    if (target === undefined) throw new Error(`Unknown schema reference ${schema.$ref}`);
    return validateSchema(target, value, path, components);
  }
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const allowed = typeof schema.type === 'string' ? [schema.type] : schema.type;
    const ok = allowed.some((t) => t === actual || (t === 'number' && actual === 'integer'));
    if (!ok) return { path, message: `${path} = ${show(value)}: must be ${allowed.map(article).join(' or ')}` };
  }
  if (schema.enum !== undefined && !schema.enum.includes(value as string)) {
    return { path, message: `${path} = ${show(value)}: must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}` };
  }
  if (actual === 'integer' || actual === 'number') {
    const n = value as number;
    if (schema.minimum !== undefined && n < schema.minimum) return { path, message: `${path} = ${n}: must be at least ${schema.minimum}` };
    if (schema.maximum !== undefined && n > schema.maximum) return { path, message: `${path} = ${n}: must be at most ${schema.maximum}` };
  }
  if (actual === 'string') {
    const s = value as string;
    if (schema.minLength !== undefined && s.length < schema.minLength) {
      return { path, message: `${path} = ${show(s)}: must have at least ${schema.minLength} characters` };
    }
    if (schema.maxLength !== undefined && s.length > schema.maxLength) {
      return { path, message: `${path}: must have at most ${schema.maxLength} characters (got ${s.length})` };
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(s)) {
      return { path, message: `${path} = ${show(s)}: must match ${schema.pattern}` };
    }
  }
  if (actual === 'array' && schema.items !== undefined) {
    const list = value as unknown[];
    for (let i = 0; i < list.length; i++) {
      const v = validateSchema(schema.items, list[i], `${path}[${i}]`, components);
      if (v !== null) return v;
    }
  }
  if (actual === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    for (const key of schema.required ?? []) {
      if (!(key in obj)) return { path: `${path}.${key}`, message: `${path}.${key} is required` };
    }
    if (schema.minProperties !== undefined && keys.length < schema.minProperties) {
      const known = Object.keys(schema.properties ?? {});
      return { path, message: `${path} must have at least ${schema.minProperties} of: ${known.join(', ')}` };
    }
    for (const key of keys) {
      const prop = schema.properties?.[key];
      if (prop !== undefined) {
        const v = validateSchema(prop, obj[key], `${path}.${key}`, components);
        if (v !== null) return v;
      } else if (schema.additionalProperties === false) {
        const known = Object.keys(schema.properties ?? {});
        return {
          path: `${path}.${key}`,
          message: `${path}.${key} is not a known field${known.length === 0 ? ' (this endpoint takes none)' : `; known: ${known.join(', ')}`}`,
        };
      } else if (typeof schema.additionalProperties === 'object') {
        const v = validateSchema(schema.additionalProperties, obj[key], `${path}.${key}`, components);
        if (v !== null) return v;
      }
    }
  }
  return null;
}

function article(type: JsonType): string {
  switch (type) {
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'integer':
      return 'an integer';
    case 'null':
      return 'null';
    default:
      return `a ${type}`;
  }
}
