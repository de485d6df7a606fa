/**
 * Recurring goals from the App Home: the Schedule form for a saved plan, the schedule it creates
 * (registered with the queue at once), and Pause, Resume and Delete by its creator or an approver.
 * Only an approver may let a schedule's runs start without review.
 */

import type { ModalView } from '@slack/types';
import { ScheduleInputs, scheduleModal } from '../../blocks/schedules.js';
import { Template, type TemplateDoc } from '../../models/template.js';
import type { Services } from '../../services.js';
import { approversHere } from '../install/approvers.js';
import {
  createSchedule,
  deleteSchedule,
  loadSchedule,
  pauseSchedule,
  registerSchedule,
  resumeSchedule,
  unregisterSchedule,
} from '../templates/schedules.js';
import type { FormErrors } from './guard.js';

const objectId = /^[a-f0-9]{24}$/i;

async function templateOf(id: string): Promise<TemplateDoc | null> {
  return objectId.test(id) ? Template.findById(id).lean<TemplateDoc>() : null;
}

export async function scheduleModalFor(
  templateId: string,
): Promise<{ ok: true; view: ModalView } | { ok: false; text: string }> {
  const template = await templateOf(templateId);
  if (!template) return { ok: false, text: 'That saved plan no longer exists.' };
  const capUsd = (template.proposal as { budget?: { maxUsd?: number } }).budget?.maxUsd ?? 1;
  return {
    ok: true,
    view: scheduleModal(String(template._id), { name: template.name, params: template.params, capUsd }),
  };
}

/** What the form holds, read by the handler. */
export interface ScheduleForm {
  kind: string;
  time: string;
  day: string | null;
  cron: string;
  timezone: string;
  channelId: string | null;
  unattended: boolean;
  cap: number;
  monthlyCap: number | null;
  values: Record<string, string>;
}

/** Which field a refusal is about, so that it shows next to it. */
function blockFor(error: string): string {
  if (/zone/i.test(error)) return ScheduleInputs.timezone;
  if (/monthly/i.test(error)) return ScheduleInputs.monthlyCap;
  if (/cap/i.test(error)) return ScheduleInputs.cap;
  if (/review|approver/i.test(error)) return ScheduleInputs.unattended;
  if (/cron|minute|hour/i.test(error)) return ScheduleInputs.cron;
  if (/channel/i.test(error)) return ScheduleInputs.channel;
  return ScheduleInputs.time;
}

export async function submitSchedule(
  services: Services,
  templateId: string,
  userId: string,
  form: ScheduleForm,
): Promise<FormErrors | null> {
  const template = await templateOf(templateId);
  if (!template) return { [ScheduleInputs.kind]: 'That saved plan no longer exists.' };
  if (!form.channelId) return { [ScheduleInputs.channel]: 'Choose the channel its runs are posted in.' };
  if (!Number.isFinite(form.cap)) return { [ScheduleInputs.cap]: 'Enter an amount in USD, like 1.50.' };
  if (form.monthlyCap !== null && !Number.isFinite(form.monthlyCap))
    return { [ScheduleInputs.monthlyCap]: 'Enter an amount in USD, or leave it empty for no monthly cap.' };
  const cadence =
    form.kind === 'cron'
      ? { kind: 'cron', expression: form.cron }
      : form.kind === 'weekly'
        ? { kind: 'weekly', day: form.day === null ? Number.NaN : Number(form.day), time: form.time }
        : { kind: 'daily', time: form.time };
  if (form.kind === 'weekly' && form.day === null) return { [ScheduleInputs.day]: 'Choose the day of the week.' };
  const made = await createSchedule({
    teamId: template.slackTeamId,
    templateId: String(template._id),
    values: form.values,
    cadence,
    timezone: form.timezone,
    channelId: form.channelId,
    runWithoutReview: form.unattended,
    capUsd: form.cap,
    monthlyCapUsd: form.monthlyCap,
    by: userId,
    isApprover: (await approversHere(services.config.approvers)).includes(userId),
    ceilingUsd: services.config.budget.maxUsd,
  });
  if (!made.ok) return { [blockFor(made.error)]: made.error.slice(0, 500) };
  await registerSchedule(services.engine.agenda, made.schedule);
  return null;
}

export type ScheduleControl = 'pause' | 'resume' | 'delete';

/** Pause, Resume or Delete: null once done, else what to tell the clicker. */
export async function controlSchedule(
  services: Services,
  scheduleId: string,
  userId: string,
  control: ScheduleControl,
): Promise<string | null> {
  const schedule = objectId.test(scheduleId) ? await loadSchedule(scheduleId) : null;
  if (!schedule) return 'That schedule no longer exists.';
  if (schedule.createdBy !== userId && !(await approversHere(services.config.approvers)).includes(userId))
    return `Only <@${schedule.createdBy}> (who made it) or an approver can change this schedule.`;
  if (control === 'delete') {
    await deleteSchedule(schedule.slackTeamId, scheduleId);
    await unregisterSchedule(services.engine.agenda, scheduleId);
    return null;
  }
  const changed =
    control === 'pause'
      ? await pauseSchedule(schedule.slackTeamId, scheduleId)
      : await resumeSchedule(schedule.slackTeamId, scheduleId);
  return changed ? null : 'That schedule no longer exists.';
}
