/**
 * The three PATCH flavours the API server accepts: JSON merge patch (RFC 7386), strategic merge
 * patch (merge patch whose object lists merge by `name`, enough for ServiceAccounts and Pods) and
 * JSON patch (RFC 6902).
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A patch that cannot be applied; `status` 400 for a malformed patch, 422 for one that does not apply. */
export class PatchError extends Error {
  constructor(
    readonly status: 400 | 422,
    message: string,
  ) {
    super(message);
  }
}

function isObj(v: unknown): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386: objects merge recursively, null removes a member, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return patch;
  const out: { [k: string]: Json } = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

/** Strategic merge: like merge patch, but lists of objects with a `name` merge element by element. */
export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return patch;
  const out: { [k: string]: Json } = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue; // directives such as $setElementOrder only order lists
    const cur = out[k];
    if (v === null) delete out[k];
    else if (Array.isArray(v) && Array.isArray(cur) && isNamedList(v) && isNamedList(cur)) out[k] = mergeNamedList(cur, v);
    else out[k] = strategicMergePatch(cur ?? null, v);
  }
  return out;
}

function isNamedList(list: Json[]): list is { [k: string]: Json }[] {
  return list.every((e) => isObj(e) && typeof e.name === 'string');
}

function mergeNamedList(cur: { [k: string]: Json }[], patch: { [k: string]: Json }[]): Json[] {
  const out = cur.map((e) => ({ ...e }));
  for (const p of patch) {
    const i = out.findIndex((e) => e.name === p.name);
    if (p.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = strategicMergePatch(out[i] ?? null, p) as { [k: string]: Json };
    else out.push(p);
  }
  return out;
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: Json;
  from?: string;
}

/** RFC 6901 pointer → reference tokens, with `~1` → `/` and `~0` → `~` (in that order). */
function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(400, `invalid JSON pointer: ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: Json | undefined): Json | undefined {
  if (Array.isArray(v)) return v.map((x) => canonical(x) ?? null);
  if (isObj(v)) {
    const out: { [k: string]: Json } = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical(v[k]) ?? null;
    return out;
  }
  return v;
}

/** RFC 6902 add, remove, replace, move, copy and test, applied atomically to a copy of `doc`. */
export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new PatchError(400, 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let root = structuredClone(doc);
  for (const raw of ops) {
    if (!isObj(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError(400, 'Unexpected kind: unknown operation or missing path');
    }
    const op = raw as unknown as JsonPatchOp;
    const tokens = parsePointer(op.path);
    switch (op.op) {
      case 'add':
        root = put(root, tokens, need(op, 'value'), op.path, 'add');
        break;
      case 'replace':
        get(root, tokens, `replace operation does not apply: doc is missing key: ${op.path}: missing value`);
        root = put(root, tokens, need(op, 'value'), op.path, 'replace');
        break;
      case 'remove':
        root = remove(root, tokens, op.path);
        break;
      case 'test': {
        const actual = get(root, tokens, `testing value ${op.path} failed: test failed`);
        if (!deepEqual(actual, need(op, 'value'))) throw new PatchError(422, `testing value ${op.path} failed: test failed`);
        break;
      }
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError(400, `${op.op} operation missing from`);
        const from = parsePointer(op.from);
        const value = structuredClone(get(root, from, `${op.op} operation does not apply: doc is missing from path: ${op.from}: missing value`));
        if (op.op === 'move') root = remove(root, from, op.from);
        root = put(root, tokens, value, op.path, 'add');
        break;
      }
      default:
        throw new PatchError(400, `Unexpected kind: ${op.op}`);
    }
  }
  return root;
}

function need(op: JsonPatchOp, key: 'value'): Json {
  if (!(key in op)) throw new PatchError(400, `${op.op} operation missing value`);
  return op.value as Json;
}

function get(root: Json, tokens: string[], missing: string): Json {
  let cur: Json = root;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      const i = Number(t);
      if (!/^\d+$/.test(t) || i >= cur.length) throw new PatchError(422, missing);
      cur = cur[i] ?? null;
    } else if (isObj(cur) && t in cur) cur = cur[t] ?? null;
    else throw new PatchError(422, missing);
  }
  return cur;
}

function put(root: Json, tokens: string[], value: Json, path: string, op: 'add' | 'replace'): Json {
  if (tokens.length === 0) return value;
  const parent = get(root, tokens.slice(0, -1), `${op} operation does not apply: doc is missing path: "${path}": missing value`);
  const last = tokens[tokens.length - 1] ?? '';
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new PatchError(422, `${op} operation does not apply: index out of bounds: ${last}`);
    if (op === 'replace') parent[i] = value;
    else parent.splice(i, 0, value);
  } else if (isObj(parent)) parent[last] = value;
  else throw new PatchError(422, `${op} operation does not apply: doc is missing path: "${path}": missing value`);
  return root;
}

function remove(root: Json, tokens: string[], path: string): Json {
  if (tokens.length === 0) throw new PatchError(422, 'unable to remove the whole document');
  const last = tokens[tokens.length - 1] ?? '';
  const parent = get(root, tokens.slice(0, -1), `remove operation does not apply: doc is missing path: "${path}": missing value`);
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!/^\d+$/.test(last) || i >= parent.length) throw new PatchError(422, `unable to remove nonexistent key: ${last}: missing value`);
    parent.splice(i, 1);
  } else if (isObj(parent) && last in parent) delete parent[last];
  else throw new PatchError(422, `unable to remove nonexistent key: ${last}: missing value`);
  return root;
}
