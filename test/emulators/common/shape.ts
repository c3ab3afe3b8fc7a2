/**
 * Contract checks against upstream wire examples: a response has the "same shape" as an example when
 * both have the same keys at every level and the same JSON value types. Arrays are compared by their
 * first element (an empty array on either side matches any array).
 */

export interface ShapeOptions {
  /** Dotted paths (array elements as `[]`, e.g. `message.attachments`) the actual value may lack. */
  allowMissing?: string[];
  /** Dotted paths the actual value may have although the example lacks them. */
  allowExtra?: string[];
}

type JsonType = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean' | 'undefined' | 'other';

export function jsonType(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'object':
      return 'object';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'undefined':
      return 'undefined';
    default:
      return 'other';
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Every difference in keys or value types between `actual` and `example`; empty when they agree. */
export function shapeDifferences(actual: unknown, example: unknown, options: ShapeOptions = {}, path = ''): string[] {
  const at = path || '(root)';
  const ta = jsonType(actual);
  const te = jsonType(example);
  if (ta !== te) return [`${at}: expected ${te}, got ${ta}`];
  if (ta === 'array') {
    const a = actual as unknown[];
    const e = example as unknown[];
    if (a.length === 0 || e.length === 0) return [];
    return shapeDifferences(a[0], e[0], options, `${path}[]`);
  }
  if (ta !== 'object') return [];
  const a = actual as Record<string, unknown>;
  const e = example as Record<string, unknown>;
  const diffs: string[] = [];
  for (const key of Object.keys(e)) {
    const p = join(path, key);
    if (!(key in a)) {
      if (!options.allowMissing?.includes(p)) diffs.push(`${p}: missing`);
      continue;
    }
    diffs.push(...shapeDifferences(a[key], e[key], options, p));
  }
  for (const key of Object.keys(a)) {
    const p = join(path, key);
    if (!(key in e) && !options.allowExtra?.includes(p)) diffs.push(`${p}: not in the example`);
  }
  return diffs;
}

/** Throw, listing every difference, unless `actual` has the same shape as `example`. */
export function expectSameShape(actual: unknown, example: unknown, options: ShapeOptions = {}): void {
  const diffs = shapeDifferences(actual, example, options);
  if (diffs.length > 0) {
    throw new Error(`shape differs from the example:\n  ${diffs.join('\n  ')}\nactual: ${JSON.stringify(actual)}`);
  }
}
