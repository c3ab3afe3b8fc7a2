/**
 * Identity search scopes (`identitySearchScopes`, `--subscription`): a subscription id, `<subscription>/<group>`
 * or an ARM id, with Azure's resource group name rules, and the words of each refusal.
 */
import fc from 'fast-check';
import { parseSearchScope, searchScopeText } from '../../../src/domain/search-scopes';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const value = (text: string) => {
  const r = parseSearchScope(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
const refusal = (text: string) => {
  const r = parseSearchScope(text);
  if (r.ok) throw new Error(`expected ${text} to be refused`);
  return r.error;
};

test('the three spellings, with spaces around and trailing slashes, any case; the subscription is lower-cased, the group kept', () => {
  expect(value(`  ${SUB.toUpperCase()}  `)).toEqual({ subscriptionId: SUB });
  expect(value(`${SUB}/`)).toEqual({ subscriptionId: SUB });
  expect(value(`${SUB}/RG-Apps//`)).toEqual({ subscriptionId: SUB, resourceGroup: 'RG-Apps' });
  expect(value(`/SUBSCRIPTIONS/${SUB}/RESOURCEGROUPS/rg_(a).b`)).toEqual({ subscriptionId: SUB, resourceGroup: 'rg_(a).b' });
  expect(value(`/subscriptions/${SUB}`)).toEqual({ subscriptionId: SUB });
  expect(value(`/subscriptions/${SUB}/`)).toEqual({ subscriptionId: SUB });
  expect('resourceGroup' in value(SUB)).toBe(false);
});

test('resource group names: 1–90 of letters, digits, - _ . ( ), not ending in a dot', () => {
  expect(value(`${SUB}/a`).resourceGroup).toBe('a');
  expect(value(`${SUB}/${'a'.repeat(90)}`).resourceGroup).toBe('a'.repeat(90));
  expect(value(`${SUB}/a.b`).resourceGroup).toBe('a.b');
  expect(value(`${SUB}/grüße`).resourceGroup).toBe('grüße');
  for (const bad of [`${SUB}/${'a'.repeat(91)}`, `${SUB}/a.`, `${SUB}/a b`, `${SUB}/a*`]) expect(refusal(bad).code).toBe('bad-search-scope');
  fc.assert(
    fc.property(fc.stringMatching(/^[-\w.()]{0,89}[-\w()]$/), (rg) => {
      expect(value(`${SUB}/${rg}`).resourceGroup).toBe(rg);
      expect(value(`/subscriptions/${SUB}/resourceGroups/${rg}`).resourceGroup).toBe(rg);
    }),
  );
});

test('the subscription must be a whole GUID; more than subscription/group is refused; the messages say what was expected', () => {
  for (const bad of ['', 'x', SUB.slice(1), `${SUB}0`, `x${SUB}`, `${SUB}/rg/extra`, `/subscriptions/${SUB}/resourceGroups/rg/providers/x`, `/subscriptions/${SUB}/rg`, `/subscriptions/not-a-guid`]) {
    expect(refusal(bad).code).toBe('bad-search-scope');
  }
  expect(refusal('nope').message).toBe('"nope" is not a search scope: expected a subscription id, <subscription id>/<resource group>, or /subscriptions/<id>/resourceGroups/<group>.');
  expect(refusal(`${SUB}/a.`).message).toBe(`"a." in "${SUB}/a." is not a resource group name (1–90 letters, digits, -, _, ., ( or ), not ending in a dot).`);
});

test('written back as <subscription> or <subscription>/<group>, which parses to the same scope', () => {
  expect(searchScopeText({ subscriptionId: SUB })).toBe(SUB);
  expect(searchScopeText({ subscriptionId: SUB, resourceGroup: 'rg-a' })).toBe(`${SUB}/rg-a`);
  for (const s of [{ subscriptionId: SUB }, { subscriptionId: SUB, resourceGroup: 'rg-a' }]) expect(value(searchScopeText(s))).toEqual(s);
});

test('an ARM id must start at /subscriptions: anything before it is refused, not skipped', () => {
  for (const bad of [`x/subscriptions/${SUB}`, `/tenants/t/subscriptions/${SUB}`, `/providers/Microsoft.Management/managementGroups/mg/subscriptions/${SUB}/resourceGroups/rg`]) {
    expect(refusal(bad).code).toBe('bad-search-scope');
  }
});
