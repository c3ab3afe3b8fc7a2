/**
 * Kubernetes label selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`,
 * joined by commas (all must hold).
 */

export type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'in' | 'notin'; values: string[] };

export class SelectorError extends Error {}

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Split on commas that are not inside a parenthesised value set. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  return terms.map((t) => t.trim());
}

export function parseSelector(selector: string | undefined): Requirement[] {
  if (selector === undefined || selector.trim() === '') return [];
  return splitTerms(selector).map((term) => {
    const fail = (why: string): never => {
      throw new SelectorError(`unable to parse requirement: ${why} in label selector "${selector}"`);
    };
    let m: RegExpMatchArray | null;
    let req: Requirement;
    if ((m = term.match(/^(\S+?)\s*(==|!=|=)\s*(\S*)$/))) {
      const value = m[3] ?? '';
      req = { key: m[1] ?? '', op: m[2] === '!=' ? 'neq' : 'eq', value };
      if (!VALUE.test(value)) fail(`invalid label value: "${value}"`);
    } else if ((m = term.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      const values = (m[3] ?? '').split(',').map((v) => v.trim());
      if (values.some((v) => !VALUE.test(v))) fail(`invalid label value in "${m[3] ?? ''}"`);
      req = { key: m[1] ?? '', op: m[2] as 'in' | 'notin', values };
    } else if ((m = term.match(/^!\s*(\S+)$/))) {
      req = { key: m[1] ?? '', op: 'notexists' };
    } else if ((m = term.match(/^(\S+)$/))) {
      req = { key: m[1] ?? '', op: 'exists' };
    } else {
      return fail(`found '${term}', expected: !, identifier, or 'end of string'`);
    }
    if (!KEY.test(req.key)) fail(`invalid label key "${req.key}"`);
    return req;
  });
}

export function matchesSelector(labels: Record<string, string> | undefined, reqs: Requirement[]): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'eq':
        return has && l[r.key] === r.value;
      case 'neq':
        return !has || l[r.key] !== r.value;
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key] ?? '');
      case 'notin':
        return !has || !r.values.includes(l[r.key] ?? '');
    }
  });
}
