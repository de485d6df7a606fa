/**
 * Cadences and cron (engine/templates/cadence.ts, cron.ts): the expressions handed to the queue, the
 * time zones, and the occurrence a firing belongs to, checked against cron-parser, which Agenda uses.
 */
import { CronExpressionParser } from 'cron-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Cadence,
  canonicalTimeZone,
  checkCadence,
  cronOf,
  monthIn,
  occurrenceKeyAt,
} from '../../../src/engine/templates/cadence.js';
import { minuteKey, wallClock } from '../../../src/engine/templates/cron.js';

describe('cronOf', () => {
  it.each<[Cadence, string]>([
    [{ kind: 'daily', time: '09:00' }, '0 9 * * *'],
    [{ kind: 'daily', time: '9:05' }, '5 9 * * *'],
    [{ kind: 'daily', time: '00:00' }, '0 0 * * *'],
    [{ kind: 'weekly', day: 1, time: '17:30' }, '30 17 * * 1'],
    [{ kind: 'weekly', day: 0, time: '23:59' }, '59 23 * * 0'],
    [{ kind: 'cron', expression: '  0  8 * * 1-5 ' }, '0 8 * * 1-5'],
    [{ kind: 'cron', expression: '15 */6 1,15 jan-jun MON-FRI' }, '15 */6 1,15 jan-jun MON-FRI'],
    [{ kind: 'cron', expression: '0 12 * * 7' }, '0 12 * * 7'],
  ])('%j → %s', (cadence, cron) => {
    expect(cronOf(cadence)).toBe(cron);
  });

  it.each([
    [{ kind: 'cron', expression: '0 9 * *' }, /has five fields .* has 4/],
    [{ kind: 'cron', expression: '0 0 9 * * *' }, /has 6/],
    [{ kind: 'cron', expression: '*/15 9 * * *' }, /at most once an hour/],
    [{ kind: 'cron', expression: '* 9 * * *' }, /at most once an hour/],
    [{ kind: 'cron', expression: '0 25 * * *' }, /hour field "25"/],
    [{ kind: 'cron', expression: '0 9 L * *' }, /day of the month field "L"/],
    [{ kind: 'cron', expression: '0 9 * * 1#2' }, /day of the week field "1#2"/],
    [{ kind: 'cron', expression: '0 9 5-1 * *' }, /day of the month field "5-1"/],
    [{ kind: 'cron', expression: '0 9 30 2 *' }, /names a day that no month has/],
    [{ kind: 'daily', time: '24:00' }, /time must be a 24-hour time/],
    [{ kind: 'weekly', day: 7, time: '09:00' }, /day/],
    [{ kind: 'hourly' }, /kind/],
  ])('refuses %j', (cadence, error) => {
    const checked = checkCadence(cadence);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.error).toMatch(error);
    expect(() => cronOf(cadence as Cadence)).toThrow(error);
  });
});

describe('time zones', () => {
  it('accepts IANA names and refuses the rest', () => {
    expect(canonicalTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('Mars/Olympus_Mons')).toBeNull();
    expect(canonicalTimeZone('')).toBeNull();
  });

  it('reads the month on the zone wall clock', () => {
    const at = new Date('2026-12-01T02:00:00Z');
    expect(monthIn(at, 'UTC')).toBe('2026-12');
    expect(monthIn(at, 'America/New_York')).toBe('2026-11');
    expect(monthIn(at, 'Asia/Tokyo')).toBe('2026-12');
  });
});

describe('occurrenceKeyAt', () => {
  const tokyo = { cadence: { kind: 'daily', time: '09:00' } as Cadence, timezone: 'Asia/Tokyo' };

  it('names the occurrence a firing belongs to, however late it fires', () => {
    for (const at of [
      '2026-12-01T00:00:00Z',
      '2026-12-01T00:00:05.123Z',
      '2026-12-01T05:30:00Z',
      '2026-12-01T23:59:00Z',
    ])
      expect(occurrenceKeyAt(tokyo, new Date(at))).toBe('2026-12-01T09:00');
    expect(occurrenceKeyAt(tokyo, new Date('2026-12-02T00:00:01Z'))).toBe('2026-12-02T09:00');
  });

  it('reads weekly and cron cadences in their zone, across a daylight-saving change', () => {
    const weekly = { cadence: { kind: 'weekly', day: 1, time: '08:30' } as Cadence, timezone: 'America/New_York' };
    // Monday 2026-03-09, the day after clocks went forward: 08:30 EDT is 12:30 UTC.
    expect(occurrenceKeyAt(weekly, new Date('2026-03-09T12:30:02Z'))).toBe('2026-03-09T08:30');
    expect(occurrenceKeyAt(weekly, new Date('2026-03-15T12:00:00Z'))).toBe('2026-03-09T08:30');
    expect(occurrenceKeyAt(weekly, new Date('2026-03-09T12:29:00Z'))).toBe('2026-03-02T08:30');
    const monthly = { cadence: { kind: 'cron', expression: '0 6 1 * *' } as Cadence, timezone: 'Europe/Paris' };
    expect(occurrenceKeyAt(monthly, new Date('2026-11-15T10:00:00Z'))).toBe('2026-11-01T06:00');
  });
});

/** Expressions this module accepts, built field by field. */
const fieldArb = (min: number, max: number) =>
  fc.oneof(
    fc.constant('*'),
    fc.integer({ min, max }).map(String),
    fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.integer({ min: 2, max: Math.max(2, Math.floor((max - min) / 2)) }).map((s) => `*/${s}`),
    fc.uniqueArray(fc.integer({ min, max }), { minLength: 2, maxLength: 4 }).map((v) => v.join(',')),
  );
const cronArb = fc
  .tuple(fc.integer({ min: 0, max: 59 }).map(String), fieldArb(0, 23), fieldArb(1, 28), fieldArb(1, 12), fieldArb(0, 6))
  .map((f) => f.join(' '));
const zoneArb = fc.constantFrom('UTC', 'Asia/Tokyo', 'Asia/Kolkata', 'Europe/Paris', 'America/New_York');
const instantArb = fc.date({
  min: new Date('2025-01-01T00:00:00Z'),
  max: new Date('2029-12-31T00:00:00Z'),
  noInvalidDate: true,
});

/** Within a few hours of the 2026 clock changes in New York and Paris. */
const nearClockChangeArb = fc
  .tuple(
    fc.constantFrom('2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z', '2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z'),
    fc.integer({ min: -6 * 60, max: 6 * 60 }),
  )
  .map(([at, minutes]) => new Date(new Date(at).getTime() + minutes * 60_000));

describe('occurrenceKeyAt (property)', () => {
  it('names each occurrence cron-parser (what Agenda fires on) gives once, the same however late, and in order', () => {
    fc.assert(
      fc.property(
        cronArb,
        zoneArb,
        fc.oneof(instantArb, nearClockChangeArb),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (expression, tz, at, late) => {
          const schedule = { cadence: { kind: 'cron', expression } as Cadence, timezone: tz };
          const fires = CronExpressionParser.parse(expression, { currentDate: at, tz });
          const first = fires.next().toDate();
          const second = fires.next().toDate();
          const key = occurrenceKeyAt(schedule, first);
          // Fired late, anywhere before the next occurrence: still the same one.
          expect(
            occurrenceKeyAt(schedule, new Date(first.getTime() + late * (second.getTime() - first.getTime()))),
          ).toBe(key);
          expect(occurrenceKeyAt(schedule, second) >= key).toBe(true);
          const clock = wallClock(first, tz);
          if (minuteKey(wallClock(second, tz)) !== minuteKey(clock))
            expect(occurrenceKeyAt(schedule, second) > key).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('names a firing late into the hour clocks repeat after the occurrence reached before they were set back', () => {
    // Paris sets its clocks back from 03:00 to 02:00 on 2026-10-25 (01:00 UTC); 02:01 happens twice.
    const hourly = { cadence: { kind: 'cron', expression: '1 * * * *' } as Cadence, timezone: 'Europe/Paris' };
    expect(occurrenceKeyAt(hourly, new Date('2026-10-25T00:01:00Z'))).toBe('2026-10-25T02:01');
    // 02:00 again (CET), 59 minutes after 02:01 CEST: still that occurrence, not 01:01's.
    expect(occurrenceKeyAt(hourly, new Date('2026-10-25T01:00:00Z'))).toBe('2026-10-25T02:01');
    expect(occurrenceKeyAt(hourly, new Date('2026-10-25T01:01:00Z'))).toBe('2026-10-25T02:01');
    expect(occurrenceKeyAt(hourly, new Date('2026-10-25T02:01:00Z'))).toBe('2026-10-25T03:01');
  });

  it('names a firing in the hour clocks skip ahead after the occurrence before, until the skipped minute fires', () => {
    // Paris skips 02:00-03:00 on 2026-03-29 (01:00 UTC): 02:01 does not exist, and fires at 03:01.
    const hourly = { cadence: { kind: 'cron', expression: '1 * * * *' } as Cadence, timezone: 'Europe/Paris' };
    expect(occurrenceKeyAt(hourly, new Date('2026-03-29T00:59:00Z'))).toBe('2026-03-29T01:01');
    // 03:00 CEST: 02:01 has not fired yet.
    expect(occurrenceKeyAt(hourly, new Date('2026-03-29T01:00:00Z'))).toBe('2026-03-29T01:01');
    expect(occurrenceKeyAt(hourly, new Date('2026-03-29T01:01:00Z')) > '2026-03-29T01:01').toBe(true);
  });

  it('names a firing daylight saving moved after the occurrence it stands for', () => {
    const nightly = { cadence: { kind: 'daily', time: '02:30' } as Cadence, timezone: 'America/New_York' };
    const fires = CronExpressionParser.parse('30 2 * * *', {
      currentDate: new Date('2026-03-07T12:00:00Z'),
      tz: 'America/New_York',
    });
    const onTheDay = fires.next().toDate();
    // Clocks skip 02:00-03:00 that night: cron-parser fires at 03:30 EDT.
    expect(minuteKey(wallClock(onTheDay, 'America/New_York'))).toBe('2026-03-08T03:30');
    expect(occurrenceKeyAt(nightly, onTheDay)).toBe('2026-03-08T02:30');
    expect(occurrenceKeyAt(nightly, fires.next().toDate())).toBe('2026-03-09T02:30');
  });
});
