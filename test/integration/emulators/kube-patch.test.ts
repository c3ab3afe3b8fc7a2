/**
 * The Kubernetes emulator's patch and selector engines against the RFC examples.
 */
import { matchesSelector, parseSelector, SelectorError } from '../../emulators/kube/labels';
import { jsonPatch, mergePatch, PatchError, type Json } from '../../emulators/kube/patch';

describe('RFC 7386 merge patch', () => {
  test('the RFC appendix A examples', () => {
    const cases: [Json, Json, Json][] = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [['a', 'b'], ['c', 'd'], ['c', 'd']],
      [{ a: 'b' }, ['c'], ['c']],
      [{ a: 'foo' }, null, null],
      [{ a: 'foo' }, 'bar', 'bar'],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [target, patch, result] of cases) expect(mergePatch(target, patch)).toEqual(result);
  });
});

describe('RFC 6902 JSON patch', () => {
  test('~1 and ~0 unescape to / and ~ (in that order)', () => {
    const doc: Json = { metadata: { annotations: {} } };
    const out = jsonPatch(doc, [
      { op: 'add', path: '/metadata/annotations/azure.workload.identity~1client-id', value: 'c' },
      { op: 'add', path: '/metadata/annotations/a~0b', value: 't' },
      { op: 'add', path: '/metadata/annotations/~01', value: 'not a slash' },
    ]);
    expect(out).toEqual({ metadata: { annotations: { 'azure.workload.identity/client-id': 'c', 'a~b': 't', '~1': 'not a slash' } } });
    expect(doc).toEqual({ metadata: { annotations: {} } });
  });

  test('test, remove, replace, move, copy, arrays; failures leave the input untouched', () => {
    const doc: Json = { a: [1, 2], b: { c: 'd' } };
    expect(jsonPatch(doc, [{ op: 'test', path: '/b/c', value: 'd' }, { op: 'replace', path: '/b/c', value: 'e' }])).toEqual({ a: [1, 2], b: { c: 'e' } });
    expect(jsonPatch(doc, [{ op: 'add', path: '/a/-', value: 3 }, { op: 'remove', path: '/a/0' }])).toEqual({ a: [2, 3], b: { c: 'd' } });
    expect(jsonPatch(doc, [{ op: 'move', from: '/b/c', path: '/x' }])).toEqual({ a: [1, 2], b: {}, x: 'd' });
    expect(jsonPatch(doc, [{ op: 'copy', from: '/a', path: '/b/a' }])).toEqual({ a: [1, 2], b: { c: 'd', a: [1, 2] } });
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/b/c', value: 'x' }])).toThrow(PatchError);
    expect(() => jsonPatch(doc, [{ op: 'remove', path: '/b/zz' }])).toThrow('unable to remove nonexistent key: zz: missing value');
    expect(() => jsonPatch(doc, [{ op: 'replace', path: '/nope', value: 1 }])).toThrow(PatchError);
    expect(() => jsonPatch(doc, [{ op: 'add', path: '/no/parent', value: 1 }])).toThrow(PatchError);
    expect(() => jsonPatch(doc, { op: 'add' })).toThrow(PatchError);
    expect(doc).toEqual({ a: [1, 2], b: { c: 'd' } });
  });
});

describe('label selectors', () => {
  const labels = { 'azure.workload.identity/use': 'true', tier: 'web' };
  test.each([
    ['azure.workload.identity/use=true', true],
    ['azure.workload.identity/use==true', true],
    ['azure.workload.identity/use!=true', false],
    ['tier!=db', true],
    ['missing!=x', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['tier in (web,db)', true],
    ['tier notin (web)', false],
    ['tier=web,azure.workload.identity/use', true],
    ['tier=web,missing', false],
    ['', true],
  ])('%s → %s', (selector, expected) => {
    expect(matchesSelector(labels, parseSelector(selector))).toBe(expected);
  });

  test('malformed selectors are refused', () => {
    expect(() => parseSelector('a=b=c')).toThrow(SelectorError);
    expect(() => parseSelector('Bad Key')).toThrow(SelectorError);
  });
});
