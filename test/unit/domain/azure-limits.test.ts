/**
 * The Azure limits wid-bot keeps to by default, pinned against Azure's documentation: Azure Resource Manager's
 * token buckets per subscription and principal (reads: bucket 250, refill 25/s; writes: 200, 10/s; deletes:
 * 200, 10/s — "Understand how Azure Resource Manager throttles requests", 2025), and Managed Identity's limit on
 * creating user-assigned identities (80 per 20 s per subscription and region: a bucket of 80 refilled at 4/s).
 * A change here changes how fast wid-bot may call Azure, so it must be a deliberate one.
 */
import { AZURE_LIMITS } from '../../../src/domain/azure-limits';

test('ARM reads: bucket 250, refilled at 25 per second', () => {
  expect(AZURE_LIMITS.reads).toEqual({ burst: 250, perSecond: 25 });
});

test('ARM writes: bucket 200, refilled at 10 per second', () => {
  expect(AZURE_LIMITS.writes).toEqual({ burst: 200, perSecond: 10 });
});

test('ARM deletes: bucket 200, refilled at 10 per second', () => {
  expect(AZURE_LIMITS.deletes).toEqual({ burst: 200, perSecond: 10 });
});

test('user-assigned identity creates: 80 per 20 s, i.e. a bucket of 80 refilled at 4 per second', () => {
  expect(AZURE_LIMITS.identityCreates).toEqual({ burst: 80, perSecond: 4 });
  expect(AZURE_LIMITS.identityCreates.burst / AZURE_LIMITS.identityCreates.perSecond).toBe(20);
});

test('exactly these four buckets, frozen so no caller can loosen them at run time', () => {
  expect(Object.keys(AZURE_LIMITS).sort()).toEqual(['deletes', 'identityCreates', 'reads', 'writes']);
  expect(Object.isFrozen(AZURE_LIMITS)).toBe(true);
  for (const bucket of Object.values(AZURE_LIMITS)) expect(Object.isFrozen(bucket)).toBe(true);
});
