/**
 * A recurring goal's occurrence: once per occurrence, whatever the instances (the schedule's
 * occurrence is claimed by one conditional update), the saved plan is posted for review, or, for a
 * schedule set to run without review, approved at once under its own cap. A paused schedule does
 * nothing; one whose month has reached its cap skips, and says so once that month.
 */
import type { Job } from 'agenda';
import { formatUsd } from '../../blocks/text.js';
import { describeError } from '../../errors.js';
import { Orchestration } from '../../models/orchestration.js';
import type { ScheduleDoc } from '../../models/schedule.js';
import { tenantOf, withTenant } from '../../tenant.js';
import { rosterAgents } from '../crew/roster.js';
import { orchestrationIdOf } from '../plan/ids.js';
import {
  claimOccurrence,
  loadSchedule,
  occurrenceDecision,
  occurrenceKeyAt,
  type ScheduleJobData,
  scheduledRun,
} from '../templates/schedules.js';
import type { EngineContext } from './context.js';

export async function runScheduleJob(ctx: EngineContext, job: Job<ScheduleJobData>): Promise<void> {
  const schedule = await loadSchedule(job.attrs.data.scheduleId);
  // The repeating job serves one schedule, whose workspace it runs as.
  if (schedule) await withTenant(tenantOf(schedule), () => runOccurrence(ctx, job, schedule));
}

async function runOccurrence(ctx: EngineContext, job: Job<ScheduleJobData>, schedule: ScheduleDoc): Promise<void> {
  const key = occurrenceKeyAt(schedule, job.attrs.lastRunAt ?? new Date());
  if (!(await claimOccurrence(schedule._id, key))) return;
  const say = (text: string) =>
    ctx.announcer.client.chat
      .postMessage({ channel: schedule.channelId, text })
      .catch((error: unknown) => ctx.logger.warn(`could not post to ${schedule.channelId}: ${describeError(error)}`));
  const decision = await occurrenceDecision(schedule);
  if (decision.decision === 'paused') return;
  if (decision.decision === 'monthly_cap') {
    if (decision.sayIt)
      await say(
        `:no_entry: A recurring goal skips its runs for the rest of ${decision.month}: its runs have spent ` +
          `${formatUsd(decision.monthToDateUsd)} of their ${formatUsd(decision.monthlyCapUsd)} monthly cap.`,
      );
    return;
  }
  const rosterNames = (await rosterAgents()).map((a) => a.name);
  const run = await scheduledRun(schedule, { rosterNames });
  if (!run.ok) {
    await say(`:warning: A recurring goal could not start its run: ${run.error}`);
    return;
  }
  const at = new Date();
  const why = `scheduled (${key})`;
  const doc = await Orchestration.create({
    slackTeamId: schedule.slackTeamId,
    requesterId: schedule.createdBy,
    channelId: schedule.channelId,
    goal: run.goal,
    status: 'proposed',
    proposal: run.proposal,
    revision: 1,
    history: [{ revision: 1, proposal: run.proposal, change: why, by: null, at }],
    transitions: [{ from: 'planning', to: 'proposed', at, reason: why, by: null }],
    budget: { maxUsd: run.proposal.budget.maxUsd, spentUsd: 0, reservedUsd: 0, warned: false },
    templateId: run.templateId,
    scheduleId: schedule._id,
    autoApprove: schedule.runWithoutReview ? { by: schedule.createdBy } : null,
  });
  // The plan job posts a proposal it finds made, without planning, and approves an unattended one.
  await ctx.queue.ensurePlan(orchestrationIdOf(doc), null);
}
