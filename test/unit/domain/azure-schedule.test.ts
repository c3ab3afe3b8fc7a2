/**
 * Azure's own schedule for a grant (expiry: azure), the pure part: the ISO 8601 duration sent as
 * scheduleInfo.expiration.duration, the deterministic request names (a retried assign, update or remove
 * must reuse the name it sent before, also across wid-bot versions) and the justification Azure keeps.
 */
import fc from 'fast-check';
import { AZURE_SCHEDULE_MIN_SECONDS, isoDuration, scheduleJustification, scheduleRequestName } from '../../../src/domain/azure-schedule';
import { isoDurationSeconds, MIN_ACTIVE_SECONDS } from '../../emulators/arm/role-assignment-schedules';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('isoDuration', () => {
  test.each([
    [0, 'PT0S'],
    [1, 'PT1S'],
    [59, 'PT59S'],
    [60, 'PT1M'],
    [61, 'PT1M1S'],
    [300, 'PT5M'],
    [3599, 'PT59M59S'],
    [3600, 'PT1H'],
    [3601, 'PT1H1S'],
    [5400, 'PT1H30M'],
    [28_800, 'PT8H'],
    [86_399, 'PT23H59M59S'],
    [86_400, 'P1D'],
    [86_401, 'P1DT1S'],
    [93_600, 'P1DT2H'],
    [90_061, 'P1DT1H1M1S'],
    [180 * 86_400, 'P180D'],
  ])('%i s is %s', (s, text) => {
    expect(isoDuration(s)).toBe(text);
  });

  test('fractions round to the nearest second; below zero is zero', () => {
    expect(isoDuration(59.4)).toBe('PT59S');
    expect(isoDuration(59.5)).toBe('PT1M');
    expect(isoDuration(-5)).toBe('PT0S');
    expect(isoDuration(-0.4)).toBe('PT0S');
  });

  test('Azure reads back the seconds it was given (the emulator parses as Azure does)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 * 86_400 }), (s) => {
        const text = isoDuration(s);
        expect(text).toMatch(/^P(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$/);
        expect(text).not.toMatch(/^PT?$/);
        expect(isoDurationSeconds(text)).toBe(s);
      }),
    );
  });
});

describe('scheduleRequestName', () => {
  test('a version-5 GUID, the same for the same grant and kind, different across kinds and grants', () => {
    const a = scheduleRequestName('assign', 'wid-abc');
    expect(a).toMatch(GUID);
    expect(scheduleRequestName('assign', 'wid-abc')).toBe(a);
    expect(scheduleRequestName('remove', 'wid-abc')).not.toBe(a);
    expect(scheduleRequestName('update', 'wid-abc')).not.toBe(a);
    expect(scheduleRequestName('update', 'wid-abc')).not.toBe(scheduleRequestName('remove', 'wid-abc'));
    expect(scheduleRequestName('assign', 'wid-abd')).not.toBe(a);
  });

  test('stable across versions: a request sent before an upgrade is found again by its name after it', () => {
    // Pinned: changing the namespace or the name's input would make a retried request after an upgrade a second request.
    expect(scheduleRequestName('assign', 'wid-0000000001')).toBe('29457fbc-4069-517a-ae59-279ee226820b');
    expect(scheduleRequestName('remove', 'wid-0000000001')).toBe('fd761857-a825-5f05-9a0c-80324f110308');
  });
});

test('the justification names the grant and its end in UTC ISO form', () => {
  expect(scheduleJustification('wid-abc', '2026-12-03T10:00:00Z')).toBe('wid-bot wid-abc; ends 2026-12-03T10:00:00.000Z');
  expect(scheduleJustification('wid-abc', '2026-12-03T11:00:00+01:00')).toBe('wid-bot wid-abc; ends 2026-12-03T10:00:00.000Z');
});

test('the minimum is Azure\'s documented 5 minutes (the emulator refuses less with ActiveDurationTooShort)', () => {
  expect(AZURE_SCHEDULE_MIN_SECONDS).toBe(300);
  expect(AZURE_SCHEDULE_MIN_SECONDS).toBe(MIN_ACTIVE_SECONDS);
});
