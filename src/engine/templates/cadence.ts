/**
 * When a recurring goal runs (pure): the cadence people choose (daily, weekly or a cron
 * expression), its cron expression for the queue, the time zone it is read in, and the names of
 * an occurrence and of a month on that zone's wall clock.
 */
import { z } from 'zod';
import {
  calendarClock,
  minuteKey,
  monthKey,
  parseCron,
  previousOccurrence,
  type WallClock,
  wallClock,
} from './cron.js';

const TIME = z.string().regex(/^([01]?\d|2[0-3]):[0-5]\d$/, 'must be a 24-hour time such as 09:00');

/** The cadences people may choose, as zod checks them. */
export const CadenceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('daily'), time: TIME }),
  z.object({
    kind: z.literal('weekly'),
    day: z.number().int().min(0).max(6).describe('0 is Sunday, as in cron'),
    time: TIME,
  }),
  z.object({ kind: z.literal('cron'), expression: z.string().max(200) }),
]);
/** When a recurring goal runs: daily or weekly at a wall-clock time, or a cron expression. */
export type Cadence = z.infer<typeof CadenceSchema>;

const hourMinute = (time: string) => time.split(':').map(Number) as [number, number];

/**
 * A cadence's cron expression, checked. A recurring goal runs at most once an hour: every run is
 * an orchestration with its own budget, and a minute field of "*" would start sixty.
 */
export function checkCadence(
  input: unknown,
): { ok: true; cadence: Cadence; cron: string } | { ok: false; error: string } {
  const parsed = CadenceSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, error: `The schedule's ${issue.path.join('.') || 'cadence'} ${issue.message}.` };
  }
  const cadence = parsed.data;
  if (cadence.kind !== 'cron') {
    const [h, m] = hourMinute(cadence.time);
    return { ok: true, cadence, cron: `${m} ${h} * * ${cadence.kind === 'weekly' ? cadence.day : '*'}` };
  }
  const read = parseCron(cadence.expression);
  if (!read.ok) return read;
  if (read.cron.minute.values.size !== 1)
    return {
      ok: false,
      error: 'A recurring goal runs at most once an hour: give the minute as one number, such as 0.',
    };
  return { ok: true, cadence, cron: cadence.expression.trim().split(/\s+/).join(' ') };
}

/** The cron expression the queue repeats on: daily 09:00 is "0 9 * * *", weekly is "m h * * d". Throws on a cadence `checkCadence` refuses. */
export function cronOf(cadence: Cadence): string {
  const checked = checkCadence(cadence);
  if (!checked.ok) throw new Error(checked.error);
  return checked.cron;
}

/** The IANA name as Intl spells it, or null when Intl does not know the zone. */
export function canonicalTimeZone(timeZone: string): string | null {
  if (!timeZone.trim() || timeZone.length > 64) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** "2026-12": the month `at` falls in on the wall clock of `timeZone`. */
export const monthIn = (at: Date, timeZone: string) => monthKey(wallClock(at, timeZone));

/**
 * The occurrence a firing at `firedAt` belongs to: the latest wall-clock minute the cadence names at
 * or before it, in the schedule's zone ("2026-12-01T09:00"). A firing late by seconds or minutes, a
 * second instance firing the same job, or a job retried after a crash all name the same occurrence;
 * later occurrences have greater names, which is what `claimOccurrence` relies on.
 */
export function occurrenceKeyAt(schedule: { cadence: Cadence; timezone: string }, firedAt: Date): string {
  const read = parseCron(cronOf(schedule.cadence));
  const keyAt = (at: Date) => {
    const clock = wallClock(at, schedule.timezone);
    let found = read.ok ? previousOccurrence(read.cron, clock) : null;
    // A minute the clocks skipped (daylight saving's start) fires once they have moved on, the skip
    // later (02:01 at 03:01): until then, the occurrence reached is an earlier one.
    while (read.ok && found && (skippedMinuteFiresAt(found, schedule.timezone) ?? 0) > at.getTime())
      found = previousOccurrence(read.cron, minuteBefore(found));
    // Null is not reached for a checked cadence (each names a day that exists); the minute fired is the next best name.
    return minuteKey(found ?? clock);
  };
  const key = keyAt(firedAt);
  // Clocks set back within the last hour (daylight saving's end) read later just before: a firing
  // late into the repeated hour still stands for the occurrence the clock had reached by then.
  const before = lastMinuteBeforeSetBack(firedAt, schedule.timezone);
  const earlier = before ? keyAt(before) : null;
  return earlier && earlier > key ? earlier : key;
}

/** The zone's offset from UTC at `at`, in ms (to the minute). */
function offsetAt(at: Date, timeZone: string): number {
  const c = wallClock(at, timeZone);
  return Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute) - Math.floor(at.getTime() / 60_000) * 60_000;
}

/** The calendar minute before `clock`. */
function minuteBefore(clock: WallClock): WallClock {
  return calendarClock(Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute) - 60_000);
}

/**
 * When a wall-clock minute the zone's clocks skipped fires (the instant that minute names at the
 * offset before the skip, which the clock shows as the minute the skip later), or null when the
 * minute exists. Clocks change at most once within hours of each other, so the offsets six hours
 * either side are the two that apply.
 */
function skippedMinuteFiresAt(clock: WallClock, timeZone: string): number | null {
  const calendar = Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute);
  const [before, after] = [-6, 6].map((h) => calendar - offsetAt(new Date(calendar + h * 3_600_000), timeZone));
  const shows = (t: number) => minuteKey(wallClock(new Date(t), timeZone)) === minuteKey(clock);
  return shows(before!) || shows(after!) ? null : before!;
}

/** Within a minute of the last instant before the zone's clocks were set back, if they were in the hour before `at`. */
function lastMinuteBeforeSetBack(at: Date, timeZone: string): Date | null {
  let lo = at.getTime() - 3_600_000;
  let hi = at.getTime();
  const old = offsetAt(new Date(lo), timeZone);
  if (old <= offsetAt(at, timeZone)) return null;
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (offsetAt(new Date(mid), timeZone) === old) lo = mid;
    else hi = mid;
  }
  return new Date(lo);
}
