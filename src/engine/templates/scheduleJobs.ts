/**
 * A recurring goal's job in the queue: one repeating Agenda job per schedule, keyed by its id.
 * Agenda's `every()` saves its jobs as type "single", which it stores once per job NAME (an upsert
 * on name and type, before any `unique()` is looked at): with `every()` every schedule would
 * overwrite the one job of 'orchestrate.schedule'. So the job is built as `every()` builds it
 * (`repeatEvery` with the cron, its time zone and skipImmediate), but saved as a normal job unique
 * on `data.scheduleId`.
 */
import type { Agenda } from 'agenda';
import type { ScheduleDoc } from '../../models/schedule.js';
import { cronOf } from './cadence.js';

/** The job every schedule fires; the handler reads `job.attrs.data.scheduleId`. */
export const scheduleJobName = 'orchestrate.schedule';

export interface ScheduleJobData {
  /** The schedule's id as hex: what the unique key and `cancel` match on. */
  scheduleId: string;
}

/**
 * Makes sure the queue holds the schedule's repeating job, next due at its next occurrence in its
 * time zone (never at once). Idempotent: a job already there with the same cron and zone is left
 * alone, so calling it on every start neither duplicates the job nor moves an occurrence that is due;
 * a job with another cadence is replaced.
 */
export async function registerSchedule(
  agenda: Agenda,
  schedule: Pick<ScheduleDoc, '_id' | 'cadence' | 'timezone'>,
): Promise<void> {
  const scheduleId = schedule._id.toString();
  const cron = cronOf(schedule.cadence);
  await agenda.ready;
  const existing = await agenda.queryJobs({ name: scheduleJobName, data: { scheduleId } });
  const current = existing.jobs.filter((j) => j.repeatInterval === cron && j.repeatTimezone === schedule.timezone);
  if (current.length && current.length === existing.jobs.length) return;
  if (existing.jobs.length) await unregisterSchedule(agenda, scheduleId);
  const job = agenda.create<ScheduleJobData>(scheduleJobName, { scheduleId });
  job.repeatEvery(cron, { timezone: schedule.timezone, skipImmediate: true });
  // insertOnly: two instances registering at once store one job where a unique index backs the
  // query; where none does (the embedded database), claimOccurrence still starts each occurrence once.
  job.unique({ 'data.scheduleId': scheduleId }, { insertOnly: true });
  await job.save();
}

/** Removes the schedule's job from the queue; how many were removed. */
export async function unregisterSchedule(agenda: Agenda, scheduleId: string | { toString(): string }): Promise<number> {
  await agenda.ready;
  return agenda.cancel({ name: scheduleJobName, data: { scheduleId: scheduleId.toString() } });
}
