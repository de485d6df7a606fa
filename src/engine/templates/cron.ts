/**
 * Five-field cron expressions (pure): reading one into the values each field allows, the wall-clock
 * time of an instant in an IANA time zone, and the latest occurrence at or before a wall-clock time. The
 * queue (Agenda, through cron-parser) decides when a schedule fires; this finds which occurrence a
 * firing belongs to, so that every instance that fires it names it alike. It accepts a subset of
 * what cron-parser does (no L, W, # or ?), with the same day rule: when both the day of the month
 * and the day of the week are restricted, either one matching is enough.
 */

/** One field of an expression: the values it allows. */
export interface CronField {
  values: ReadonlySet<number>;
  /** Written as "*": it restricts nothing (this matters for the day rule). */
  wildcard: boolean;
}

/** A parsed five-field expression. */
export interface Cron {
  minute: CronField;
  hour: CronField;
  dayOfMonth: CronField;
  month: CronField;
  dayOfWeek: CronField;
}

/** A time as a clock in some zone shows it. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 is Sunday. */
  weekday: number;
}

interface FieldSpec {
  label: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const SPECS: readonly FieldSpec[] = [
  { label: 'minute', min: 0, max: 59 },
  { label: 'hour', min: 0, max: 23 },
  { label: 'day of the month', min: 1, max: 31 },
  { label: 'month', min: 1, max: 12, names: MONTHS },
  // 7 is Sunday too, as cron-parser reads it.
  { label: 'day of the week', min: 0, max: 7, names: DAYS },
];
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function fieldValue(text: string, spec: FieldSpec): number | null {
  if (/^\d{1,2}$/.test(text)) return Number(text);
  const named = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named < 0) return null;
  return spec.names === MONTHS ? named + 1 : named;
}

function parseField(text: string, spec: FieldSpec): CronField | string {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(?:(\*)|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:\/(\d{1,2}))?$/i.exec(part);
    const bad = `The ${spec.label} field "${text}" is not understood: use numbers from ${spec.min} to ${spec.max}, *, ranges (1-5), lists (1,3) and steps (*/15).`;
    if (!m) return bad;
    const from = m[1] ? spec.min : fieldValue(m[2]!, spec);
    // "5/10" runs from 5 to the end, as cron-parser reads it.
    const to = m[1] || (m[4] && !m[3]) ? spec.max : m[3] ? fieldValue(m[3], spec) : from;
    const step = m[4] ? Number(m[4]) : 1;
    if (from === null || to === null || from < spec.min || to > spec.max || from > to || step < 1) return bad;
    for (let v = from; v <= to; v += step) values.add(spec.names === DAYS && v === 7 ? 0 : v);
  }
  return { values, wildcard: text === '*' };
}

/** The expression's five fields, or a sentence saying what is wrong with it. */
export function parseCron(expression: string): { ok: true; cron: Cron } | { ok: false; error: string } {
  const fields = expression.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5)
    return {
      ok: false,
      error: `A cron expression has five fields (minute hour day-of-month month day-of-week), and "${expression.trim()}" has ${fields.length}.`,
    };
  const parsed: CronField[] = [];
  for (const [i, text] of fields.entries()) {
    const field = parseField(text, SPECS[i]!);
    if (typeof field === 'string') return { ok: false, error: field };
    parsed.push(field);
  }
  const [minute, hour, dayOfMonth, month, dayOfWeek] = parsed as [
    CronField,
    CronField,
    CronField,
    CronField,
    CronField,
  ];
  const cron = { minute, hour, dayOfMonth, month, dayOfWeek };
  const someDay =
    !dayOfMonth.wildcard && dayOfWeek.wildcard
      ? [...month.values].some((m) => [...dayOfMonth.values].some((d) => d <= DAYS_IN_MONTH[m - 1]!))
      : true;
  if (!someDay) return { ok: false, error: `"${expression.trim()}" names a day that no month has.` };
  return { ok: true, cron };
}

/** The day rule of cron (and cron-parser): both days restricted means either may match. */
function dayMatches(cron: Cron, t: WallClock): boolean {
  const dom = cron.dayOfMonth.values.has(t.day);
  const dow = cron.dayOfWeek.values.has(t.weekday);
  if (!cron.dayOfMonth.wildcard && !cron.dayOfWeek.wildcard) return dom || dow;
  if (!cron.dayOfMonth.wildcard) return dom;
  if (!cron.dayOfWeek.wildcard) return dow;
  return true;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** What a clock in `timeZone` shows at `at`. */
export function wallClock(at: Date, timeZone: string): WallClock {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(at)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    weekday: DAYS.indexOf((parts.weekday ?? '').toLowerCase().slice(0, 3)),
  };
}

/** The calendar minute `t` names read as UTC: a wall clock with no zone and no daylight saving. */
export function calendarClock(t: number): WallClock {
  const d = new Date(t);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    weekday: d.getUTCDay(),
  };
}

/** About eight years of day steps, with their hours and minutes: a leap-day expression is found, and a search ends. */
const SEARCH_STEPS = 20_000;

/**
 * The latest wall-clock minute at or before `clock` that the expression names, or null when there
 * is none within about eight years. It searches calendar minutes, not instants: a firing that
 * daylight saving moved (cron-parser fires 02:30 at 03:30 on the day clocks skip 02:00-03:00) still
 * belongs to its 02:30, and a wall-clock minute that happens twice is one occurrence.
 */
export function previousOccurrence(cron: Cron, clock: WallClock): WallClock | null {
  // A UTC date as a plain calendar: no zone, no daylight saving.
  let t = Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute);
  for (let i = 0; i < SEARCH_STEPS; i++) {
    const c = calendarClock(t);
    if (!cron.month.values.has(c.month) || !dayMatches(cron, c)) t -= (c.hour * 60 + c.minute + 1) * 60_000;
    else if (!cron.hour.values.has(c.hour)) t -= (c.minute + 1) * 60_000;
    else if (!cron.minute.values.has(c.minute)) t -= 60_000;
    else return c;
  }
  return null;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** "2026-12-01T09:00": a wall-clock minute, sortable within one time zone. */
export const minuteKey = (c: WallClock) => `${c.year}-${pad(c.month)}-${pad(c.day)}T${pad(c.hour)}:${pad(c.minute)}`;

/** "2026-12": a wall-clock month. */
export const monthKey = (c: Pick<WallClock, 'year' | 'month'>) => `${c.year}-${pad(c.month)}`;
