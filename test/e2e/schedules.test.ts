/**
 * Recurring goals, end to end: a saved plan scheduled from the App Home (only an approver may let
 * it run without review), its repeating job in the queue, one run per occurrence however many
 * times it fires, unattended runs under their own cap, the monthly cap skipping runs and saying so
 * once, and Pause from the Home tab.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ViewIds } from '../../src/blocks/actionIds.js';
import { ScheduleInputs } from '../../src/blocks/schedules.js';
import { saveTemplate } from '../../src/engine/templates/templates.js';
import { Orchestration, type OrchestrationDoc } from '../../src/models/orchestration.js';
import { Schedule } from '../../src/models/schedule.js';
import {
  APPROVER,
  CHANNEL,
  eventually,
  type Harness,
  REQUESTER,
  SIGNING_SECRET,
  startHarness,
  waitForStatus,
} from '../helpers/harness.js';
import { openHomeTab } from '../helpers/signedRequests.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const form = (over: Record<string, unknown> = {}) => {
  const text = (id: string, value: string) => ({ [id]: { [id]: { type: 'plain_text_input', value } } });
  return {
    [ScheduleInputs.kind]: { [ScheduleInputs.kind]: { type: 'static_select', selected_option: { value: 'daily' } } },
    ...text(ScheduleInputs.time, '09:00'),
    ...text(ScheduleInputs.timezone, 'UTC'),
    [ScheduleInputs.channel]: {
      [ScheduleInputs.channel]: { type: 'conversations_select', selected_conversation: CHANNEL },
    },
    ...text(ScheduleInputs.cap, '1.00'),
    ...text(ScheduleInputs.monthlyCap, '5.00'),
    [ScheduleInputs.unattended]: {
      [ScheduleInputs.unattended]: { type: 'checkboxes', selected_options: [{ value: 'yes' }] },
    },
    ...over,
  };
};

const openHome = (harness: Harness, user: string) => openHomeTab(harness.url, SIGNING_SECRET, user);

describe('recurring goals', () => {
  it('schedules a saved plan, starts one unattended run per occurrence under its cap, skips past the monthly cap once, and pauses', async () => {
    h = await startHarness();
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed', 30_000);
    const saved = await saveTemplate({
      teamId: (await Orchestration.findById(orchestrationId).lean())!.slackTeamId,
      name: 'weekly-scan',
      description: 'The positioning scan',
      orchestrationId,
      marks: {},
      by: REQUESTER,
    });
    expect(saved.ok).toBe(true);
    const templateId = String((saved as { template: { _id: unknown } }).template._id);

    // The Home tab offers Schedule on the saved plan; it opens the form.
    await openHome(h, REQUESTER);
    await eventually(
      () => JSON.stringify(h!.slack.homeView(REQUESTER)?.blocks ?? []).includes('home.schedule_template'),
      5000,
      'Schedule on the Home tab',
    );
    await h.click('home.schedule_template', templateId, APPROVER);
    const modal = await h.slack.waitFor(
      (c) => c.method === 'views.open' && c.args.view.callback_id === ViewIds.schedule,
    );
    expect(modal.args.view.private_metadata).toBe(templateId);

    // Only an approver may let its runs start without review.
    const refused = await h.submit(ViewIds.schedule, templateId, form(), REQUESTER);
    expect(refused.json.errors[ScheduleInputs.unattended]).toMatch(/approver/i);
    expect((await h.submit(ViewIds.schedule, templateId, form(), APPROVER)).text).toBe('');
    const schedule = (await Schedule.findOne({ templateId }).lean())!;
    const jobs = await h.service.engine.agenda.queryJobs({
      name: 'orchestrate.schedule',
      data: { scheduleId: String(schedule._id) },
    });
    expect(jobs.jobs.map((j) => [j.repeatInterval, j.repeatTimezone])).toEqual([['0 9 * * *', 'UTC']]);

    // One occurrence fired twice (two instances): one run, approved without review, within its cap.
    const fire = () => h!.service.engine.agenda.now('orchestrate.schedule', { scheduleId: String(schedule._id) });
    await Promise.all([fire(), fire()]);
    const run = await eventually(
      async () => Orchestration.findOne({ scheduleId: schedule._id }).lean<OrchestrationDoc>(),
      10_000,
      'the scheduled run',
    );
    const done = await waitForStatus(String(run._id), 'completed', 30_000);
    expect(done.approvedBy).toBe(APPROVER);
    expect(done.budget.maxUsd).toBe(1);
    expect(done.budget.spentUsd).toBeLessThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(await Orchestration.countDocuments({ scheduleId: schedule._id })).toBe(1);

    // An unattended run stops at its own cap: with a cap no call fits under, it ends failed on its budget.
    await Schedule.updateOne({ _id: schedule._id }, { $set: { capUsd: 0.0001, lastOccurrence: null } });
    await fire();
    const starved = await eventually(
      async () => Orchestration.findOne({ scheduleId: schedule._id, _id: { $ne: run._id } }).lean<OrchestrationDoc>(),
      10_000,
      'the second scheduled run',
    );
    const stopped = await waitForStatus(String(starved._id), 'failed', 30_000);
    expect(stopped.budgetStop).toBe(true);
    expect(stopped.budget.spentUsd).toBeLessThanOrEqual(0.0001);

    // The month can afford no other run: the next occurrences skip, and say so once.
    await Schedule.updateOne({ _id: schedule._id }, { $set: { capUsd: 1, monthlyCapUsd: 0.9, lastOccurrence: null } });
    await fire();
    await eventually(
      () => h!.slack.callsTo('chat.postMessage').some((c) => String(c.args.text).includes('skips its runs')),
      10_000,
      'the skip is said',
    );
    await Schedule.updateOne({ _id: schedule._id }, { $set: { lastOccurrence: null } });
    await fire();
    await new Promise((r) => setTimeout(r, 800));
    expect(
      h.slack.callsTo('chat.postMessage').filter((c) => String(c.args.text).includes('skips its runs')),
    ).toHaveLength(1);
    expect(await Orchestration.countDocuments({ scheduleId: schedule._id })).toBe(2);

    // The Home tab lists it with its next run (from its repeating job, not from the firings above).
    await openHome(h, APPROVER);
    await eventually(
      () => JSON.stringify(h!.slack.homeView(APPROVER)?.blocks ?? []).includes('next <!date^'),
      5000,
      'the next run on the Home tab',
    );

    // Pause from the Home tab: not by someone else; by an approver.
    await h.click('home.pause_schedule', String(schedule._id), 'U_STRANGER');
    await h.click('home.pause_schedule', String(schedule._id), APPROVER);
    await eventually(async () => (await Schedule.findById(schedule._id).lean())?.paused === true, 5000, 'paused');
    // The stranger's refusal is opened after the ack, so it may land after the approver's pause.
    await eventually(
      () =>
        h!.slack.callsTo('views.open').some((c) => JSON.stringify(c.args.view).includes('can change this schedule')),
      5000,
      'the stranger is told who can change it',
    );
    // The clicker's Home tab is republished showing it paused, with its next run still known.
    const home = await eventually(
      () => {
        const blocks = JSON.stringify(h!.slack.homeView(APPROVER)?.blocks ?? []);
        return blocks.includes('home.resume_schedule') ? blocks : null;
      },
      5000,
      'the Home tab shows Resume',
    );
    expect(home).toContain('weekly-scan');
    expect(home).toContain('*weekly-scan* · daily at 09:00 (UTC)');

    // Delete: the schedule and its job are gone.
    await h.click('home.delete_schedule', String(schedule._id), APPROVER);
    await eventually(async () => !(await Schedule.exists({ _id: schedule._id })), 5000, 'deleted');
    const left = await h.service.engine.agenda.queryJobs({
      name: 'orchestrate.schedule',
      data: { scheduleId: String(schedule._id) },
    });
    expect(left.jobs).toHaveLength(0);
  });
});
