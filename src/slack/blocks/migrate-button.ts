/** The Migrate button's value (beside each AzureIdentityBinding of /wid legacy): which binding on which cluster. */
export interface MigrateButtonValue {
  namespace: string;
  binding: string;
  cluster: string;
}

export function migrateButtonValue(v: MigrateButtonValue): string {
  return JSON.stringify({ n: v.namespace, b: v.binding, c: v.cluster });
}

export function parseMigrateButtonValue(value: string): MigrateButtonValue | undefined {
  try {
    const o = JSON.parse(value) as { n?: unknown; b?: unknown; c?: unknown };
    if (typeof o.n === 'string' && typeof o.b === 'string' && typeof o.c === 'string') return { namespace: o.n, binding: o.b, cluster: o.c };
  } catch {
    // not a value wid-bot made
  }
  return undefined;
}
