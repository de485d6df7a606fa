/**
 * Recurring goals in the database: creating one from a saved plan (checked in full before it is
 * stored), pausing, resuming, deleting and listing them with what they spent this month, and what
 * happens when one fires: the occurrence is claimed once across instances, then it runs, or is
 * skipped as paused, or for its monthly cap (said once a month).
 */
import { Types } from 'mongoose';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Schedule, type ScheduleDoc } from '../../models/schedule.js';
import { Template, type TemplateDoc } from '../../models/template.js';
import type { Proposal } from '../plan/proposal.js';
import type { ValidationContext } from '../plan/validate.js';
import { canonicalTimeZone, checkCadence, monthIn } from './cadence.js';
import { instantiate } from './pattern.js';

export { cronOf, occurrenceKeyAt } from './cadence.js';
export { registerSchedule, type ScheduleJobData, scheduleJobName, unregisterSchedule } from './scheduleJobs.js';

/** The proposal contract's ceiling on a budget. */
const MAX_CAP_USD = 10_000;

/** What the schedule form gives `createSchedule`. */
export interface CreateScheduleInput {
  teamId: string | null;
  templateId: string;
  values: Record<string, string>;
  /** `{kind:'daily', time:'09:00'} | {kind:'weekly', day: 0-6, time} | {kind:'cron', expression}`, checked here. */
  cadence: unknown;
  timezone: string;
  channelId: string;
  runWithoutReview: boolean;
  capUsd: number;
  monthlyCapUsd: number | null;
  by: string;
  /** Whether `by` is an approver: only an approver may let runs start without review. */
  isApprover: boolean;
  /** The most a run may be given (ORCHESTRATE_MAX_BUDGET_USD); unchecked when absent. */
  ceilingUsd?: number;
}

/** The stored schedule, or a sentence saying what to fix. */
export type ScheduleResult = { ok: true; schedule: ScheduleDoc } | { ok: false; error: string };

/** A schedule as listed (the App Home): with its saved plan's name and this month's spend. */
export interface ScheduleSummary extends ScheduleDoc {
  templateName: string | null;
  /** What its runs created this calendar month (in its time zone) have spent. */
  monthToDateUsd: number;
}

/** What to do with a claimed occurrence. */
export type OccurrenceDecision =
  | { decision: 'paused' }
  | {
      decision: 'monthly_cap';
      /** True for the first skip of the month only: say it once. */
      sayIt: boolean;
      month: string;
      monthToDateUsd: number;
      monthlyCapUsd: number;
    }
  | { decision: 'run' };

/** The goal and plan an occurrence starts, or why it cannot. */
export type ScheduledRun =
  | { ok: true; goal: string; proposal: Proposal; templateId: string }
  | { ok: false; error: string };

/** An ObjectId from untrusted text (a button value, job data), or null. */
function objectIdOf(raw: unknown): Types.ObjectId | null {
  if (raw instanceof Types.ObjectId) return raw;
  return typeof raw === 'string' && /^[a-f0-9]{24}$/i.test(raw) ? new Types.ObjectId(raw) : null;
}

const usd = (n: number) => `$${n.toFixed(2)}`;
const positive = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;

/** Refusals of the money settings, or null. */
function capError(input: CreateScheduleInput): string | null {
  if (!positive(input.capUsd) || input.capUsd > MAX_CAP_USD)
    return `A run's cap must be more than $0 and at most ${usd(MAX_CAP_USD)}.`;
  if (input.ceilingUsd !== undefined && input.capUsd > input.ceilingUsd)
    return `A run's cap may be at most ${usd(input.ceilingUsd)} here.`;
  if (input.monthlyCapUsd !== null && (!positive(input.monthlyCapUsd) || input.monthlyCapUsd < input.capUsd))
    return `The monthly cap must be at least one run's cap (${usd(input.capUsd)}).`;
  return null;
}

/** Creates a recurring goal from a saved plan; the caller then registers it with `registerSchedule`. */
export async function createSchedule(input: CreateScheduleInput): Promise<ScheduleResult> {
  if (input.runWithoutReview && !input.isApprover)
    return { ok: false, error: 'Only an approver can let a recurring goal run without review.' };
  const templateId = objectIdOf(input.templateId);
  const template = templateId
    ? await Template.findOne({ _id: templateId, slackTeamId: input.teamId }).lean<TemplateDoc>()
    : null;
  if (!template) return { ok: false, error: 'That saved plan was not found.' };
  const cadence = checkCadence(input.cadence);
  if (!cadence.ok) return cadence;
  const timezone = canonicalTimeZone(input.timezone);
  if (!timezone)
    return { ok: false, error: `"${input.timezone}" is not a time zone; use a name such as Europe/Paris.` };
  if (!input.channelId.trim()) return { ok: false, error: 'Choose the channel the runs are posted in.' };
  const money = capError(input);
  if (money) return { ok: false, error: money };
  const made = instantiate(template, input.values);
  if (!made.ok) return { ok: false, error: `Those values do not make a valid plan: ${made.violations.join(' ')}` };
  const doc = await Schedule.create({
    slackTeamId: input.teamId ?? undefined,
    templateId: template._id,
    values: { ...input.values },
    cadence: cadence.cadence,
    timezone,
    channelId: input.channelId,
    runWithoutReview: input.runWithoutReview,
    capUsd: input.capUsd,
    monthlyCapUsd: input.monthlyCapUsd,
    paused: false,
    createdBy: input.by,
  });
  return { ok: true, schedule: doc.toObject<ScheduleDoc>() };
}

/** Every schedule, paused or not: each keeps its job (a paused one's occurrences do nothing). */
export async function allSchedules(): Promise<ScheduleDoc[]> {
  return Schedule.find({}).lean<ScheduleDoc[]>();
}

/** Pauses every schedule of the workspace in scope (the app left it); a reinstall resumes none by itself. */
export async function pauseWorkspaceSchedules(): Promise<number> {
  const res = await Schedule.updateMany({ paused: false }, { $set: { paused: true } });
  return res.modifiedCount;
}

/** The schedule, or null (deleted, or not an id). */
export async function loadSchedule(scheduleId: string | Types.ObjectId): Promise<ScheduleDoc | null> {
  const _id = objectIdOf(scheduleId);
  return _id ? Schedule.findById(_id).lean<ScheduleDoc>() : null;
}

async function setPaused(teamId: string | null, scheduleId: string, paused: boolean): Promise<ScheduleDoc | null> {
  const _id = objectIdOf(scheduleId);
  if (!_id) return null;
  return Schedule.findOneAndUpdate(
    { _id, slackTeamId: teamId },
    { $set: { paused } },
    { returnDocument: 'after' },
  ).lean<ScheduleDoc>();
}

/** Pauses it: its occurrences are skipped until it is resumed. The schedule, or null when not found. */
export const pauseSchedule = (teamId: string | null, scheduleId: string) => setPaused(teamId, scheduleId, true);

/** Resumes it from its next occurrence (those missed while paused are not made up). The schedule, or null. */
export const resumeSchedule = (teamId: string | null, scheduleId: string) => setPaused(teamId, scheduleId, false);

/** Deletes it; true when it existed. The caller also calls `unregisterSchedule`; a job left firing finds nothing and stops there. */
export async function deleteSchedule(teamId: string | null, scheduleId: string): Promise<boolean> {
  const _id = objectIdOf(scheduleId);
  if (!_id) return false;
  return (await Schedule.deleteOne({ _id, slackTeamId: teamId })).deletedCount === 1;
}

type SpendRow = Pick<OrchestrationDoc, 'scheduleId' | 'budget' | 'createdAt'>;

/** The spend of the runs created in `now`'s calendar month, per schedule, each month read in its schedule's zone. */
async function monthSpend(schedules: readonly ScheduleDoc[], now: Date): Promise<Map<string, number>> {
  const totals = new Map(schedules.map((s) => [s._id.toString(), 0]));
  if (!schedules.length) return totals;
  // No month is longer than 31 days, and time zones are within a day of UTC: 33 days back covers any.
  const since = new Date(now.getTime() - 33 * 24 * 3600_000);
  const rows = await Orchestration.find(
    { scheduleId: { $in: schedules.map((s) => s._id) }, createdAt: { $gte: since } },
    { scheduleId: 1, 'budget.spentUsd': 1, createdAt: 1 },
  ).lean<SpendRow[]>();
  for (const s of schedules) {
    const month = monthIn(now, s.timezone);
    const spent = rows
      .filter((r) => r.scheduleId?.equals(s._id) && monthIn(new Date(r.createdAt), s.timezone) === month)
      .reduce((sum, r) => sum + (r.budget?.spentUsd ?? 0), 0);
    totals.set(s._id.toString(), spent);
  }
  return totals;
}

/** What the schedule's runs created this calendar month (in its time zone) have spent. */
export async function monthToDateUsd(schedule: ScheduleDoc, now: Date = new Date()): Promise<number> {
  return (await monthSpend([schedule], now)).get(schedule._id.toString()) ?? 0;
}

/** The team's recurring goals, oldest first, each with its saved plan's name and this month's spend. */
export async function listSchedules(teamId: string | null, now: Date = new Date()): Promise<ScheduleSummary[]> {
  const schedules = await Schedule.find({ slackTeamId: teamId }).sort({ createdAt: 1 }).lean<ScheduleDoc[]>();
  const templates = await Template.find({ _id: { $in: schedules.map((s) => s.templateId) } }, { name: 1 }).lean<
    Pick<TemplateDoc, '_id' | 'name'>[]
  >();
  const spend = await monthSpend(schedules, now);
  return schedules.map((s) => ({
    ...s,
    templateName: templates.find((t) => t._id.equals(s.templateId))?.name ?? null,
    monthToDateUsd: spend.get(s._id.toString()) ?? 0,
  }));
}

/**
 * Claims an occurrence (see `occurrenceKeyAt`): true for the one caller that moves `lastOccurrence`
 * forward to it, false for every other instance firing it, and for an occurrence older than one
 * already started. One conditional update, so it needs neither a lock nor a unique index.
 */
export async function claimOccurrence(scheduleId: string | Types.ObjectId, occurrenceKey: string): Promise<boolean> {
  const _id = objectIdOf(scheduleId);
  if (!_id) return false;
  const claimed = await Schedule.updateOne(
    { _id, $or: [{ lastOccurrence: null }, { lastOccurrence: { $lt: occurrenceKey } }] },
    { $set: { lastOccurrence: occurrenceKey } },
  );
  return claimed.modifiedCount === 1;
}

/**
 * Whether a claimed occurrence runs. A run is started only when the month's spend plus one run's
 * cap stays within the monthly cap, so the month never goes past it; the skip is said once a month
 * (`sayIt`), decided by a conditional update of `skippedMonth`.
 */
export async function occurrenceDecision(schedule: ScheduleDoc, now: Date = new Date()): Promise<OccurrenceDecision> {
  if (schedule.paused) return { decision: 'paused' };
  if (schedule.monthlyCapUsd === null) return { decision: 'run' };
  const spent = await monthToDateUsd(schedule, now);
  // A cent's tolerance: floating sums of spend must not refuse a run that fits exactly.
  if (spent + schedule.capUsd <= schedule.monthlyCapUsd + 0.005) return { decision: 'run' };
  const month = monthIn(now, schedule.timezone);
  const first = await Schedule.updateOne(
    { _id: schedule._id, skippedMonth: { $ne: month } },
    { $set: { skippedMonth: month } },
  );
  return {
    decision: 'monthly_cap',
    sayIt: first.modifiedCount === 1,
    month,
    monthToDateUsd: spent,
    monthlyCapUsd: schedule.monthlyCapUsd,
  };
}

/** The goal and plan an occurrence runs: the saved plan with the schedule's values, its budget the run's cap. */
export async function scheduledRun(schedule: ScheduleDoc, context: ValidationContext = {}): Promise<ScheduledRun> {
  const template = await Template.findById(schedule.templateId).lean<TemplateDoc>();
  if (!template) return { ok: false, error: 'Its saved plan has been deleted.' };
  const made = instantiate(template, schedule.values, context);
  if (!made.ok) return { ok: false, error: `Its plan is no longer valid: ${made.violations.slice(0, 3).join('; ')}` };
  const proposal = { ...made.proposal, budget: { ...made.proposal.budget, maxUsd: schedule.capUsd } };
  return { ok: true, goal: made.goal, proposal, templateId: template._id.toString() };
}
