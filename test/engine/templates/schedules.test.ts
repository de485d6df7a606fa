/**
 * Recurring goals in the database (engine/templates/schedules.ts): creating, pausing, listing with
 * this month's spend, claiming an occurrence once, and deciding whether it runs.
 */
import { Types } from 'mongoose';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type CreateScheduleInput,
  claimOccurrence,
  createSchedule,
  deleteSchedule,
  listSchedules,
  loadSchedule,
  monthToDateUsd,
  occurrenceDecision,
  pauseSchedule,
  resumeSchedule,
  scheduledRun,
} from '../../../src/engine/templates/schedules.js';
import { saveTemplate } from '../../../src/engine/templates/templates.js';
import { Schedule, type ScheduleDoc } from '../../../src/models/schedule.js';
import { OTHER_TEAM, REQUESTER, storeRun, TEAM, useDatabase } from './support.js';

let saves = 0;
useDatabase();
beforeEach(() => {
  saves = 0;
});

/** A saved plan (weekly-brief, then weekly-brief-2 and on within a test). */
async function savedTemplateId(teamId: string = TEAM): Promise<string> {
  saves += 1;
  const saved = await saveTemplate({
    teamId,
    name: saves === 1 ? 'weekly-brief' : `weekly-brief-${saves}`,
    description: '',
    orchestrationId: await storeRun({ teamId }),
    marks: { company: 'Acme', quarter: 'Q3' },
    by: REQUESTER,
  });
  if (!saved.ok) throw new Error(saved.error);
  return saved.template._id.toString();
}

async function create(overrides: Partial<CreateScheduleInput> = {}) {
  return createSchedule({
    teamId: TEAM,
    templateId: overrides.templateId ?? (await savedTemplateId()),
    values: { company: 'Globex', quarter: 'Q4' },
    cadence: { kind: 'weekly', day: 1, time: '09:00' },
    timezone: 'Europe/Paris',
    channelId: 'CBRIEFS',
    runWithoutReview: false,
    capUsd: 3,
    monthlyCapUsd: 10,
    by: REQUESTER,
    isApprover: false,
    ...overrides,
  });
}

async function created(overrides: Partial<CreateScheduleInput> = {}): Promise<ScheduleDoc> {
  const result = await create(overrides);
  if (!result.ok) throw new Error(result.error);
  return result.schedule;
}

describe('createSchedule', () => {
  it('stores a checked schedule, not paused, with nothing started yet', async () => {
    const schedule = await created();
    expect(schedule).toMatchObject({
      slackTeamId: TEAM,
      values: { company: 'Globex', quarter: 'Q4' },
      cadence: { kind: 'weekly', day: 1, time: '09:00' },
      timezone: 'Europe/Paris',
      channelId: 'CBRIEFS',
      runWithoutReview: false,
      capUsd: 3,
      monthlyCapUsd: 10,
      paused: false,
      createdBy: REQUESTER,
      lastOccurrence: null,
      skippedMonth: null,
    });
    expect(await loadSchedule(schedule._id.toString())).toMatchObject({ channelId: 'CBRIEFS' });
  });

  it('lets only an approver have runs start without review', async () => {
    expect(await create({ runWithoutReview: true })).toEqual({
      ok: false,
      error: 'Only an approver can let a recurring goal run without review.',
    });
    expect(await Schedule.countDocuments()).toBe(0);
    expect((await created({ runWithoutReview: true, isApprover: true })).runWithoutReview).toBe(true);
  });

  it.each<[Partial<CreateScheduleInput>, RegExp]>([
    [{ timezone: 'Mars/Olympus_Mons' }, /"Mars\/Olympus_Mons" is not a time zone/],
    [{ cadence: { kind: 'cron', expression: '*/5 * * * *' } }, /at most once an hour/],
    [{ cadence: { kind: 'daily', time: '9am' } }, /24-hour time/],
    [{ values: { company: 'Globex' } }, /Missing quarter/],
    [{ values: { company: 'x'.repeat(150), quarter: 'Q4' } }, /do not make a valid plan: .*roles\.0\.title/],
    [{ capUsd: 0 }, /more than \$0/],
    [{ capUsd: 30, ceilingUsd: 25 }, /at most \$25\.00 here/],
    [{ monthlyCapUsd: 2 }, /at least one run's cap \(\$3\.00\)/],
    [{ channelId: ' ' }, /channel/],
    [{ templateId: 'nonsense' }, /saved plan was not found/],
    [{ templateId: new Types.ObjectId().toString() }, /saved plan was not found/],
  ])('refuses %j with a sentence', async (overrides, error) => {
    const result = await create(overrides);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(error);
  });

  it("refuses another team's saved plan, and takes no monthly cap as none", async () => {
    const theirs = await savedTemplateId(OTHER_TEAM);
    expect(await create({ templateId: theirs })).toEqual({ ok: false, error: 'That saved plan was not found.' });
    expect((await created({ monthlyCapUsd: null })).monthlyCapUsd).toBeNull();
  });
});

describe('pause, resume, delete', () => {
  it('changes only a schedule of the team', async () => {
    const id = (await created())._id.toString();
    expect(await pauseSchedule(OTHER_TEAM, id)).toBeNull();
    expect((await pauseSchedule(TEAM, id))?.paused).toBe(true);
    expect((await loadSchedule(id))?.paused).toBe(true);
    expect((await resumeSchedule(TEAM, id))?.paused).toBe(false);
    expect(await pauseSchedule(TEAM, 'nonsense')).toBeNull();
    expect(await deleteSchedule(OTHER_TEAM, id)).toBe(false);
    expect(await deleteSchedule(TEAM, id)).toBe(true);
    expect(await deleteSchedule(TEAM, id)).toBe(false);
    expect(await loadSchedule(id)).toBeNull();
  });
});

describe('listSchedules and the month to date', () => {
  it("adds up this calendar month's runs in each schedule's own time zone", async () => {
    const templateId = await savedTemplateId();
    const newYork = await created({ templateId, timezone: 'America/New_York' });
    const tokyo = await created({ templateId, timezone: 'Asia/Tokyo' });
    // 02:00 UTC on 1 December: still November in New York, already December in Tokyo.
    const now = new Date('2026-12-01T02:00:00Z');
    for (const schedule of [newYork, tokyo]) {
      const scheduleId = schedule._id;
      await storeRun({ scheduleId, spentUsd: 1, createdAt: new Date('2026-11-30T12:00:00Z') });
      await storeRun({ scheduleId, spentUsd: 2, createdAt: new Date('2026-12-01T01:00:00Z') });
      await storeRun({ scheduleId, spentUsd: 4, createdAt: new Date('2026-10-31T12:00:00Z') });
    }
    await storeRun({ spentUsd: 8, createdAt: new Date('2026-12-01T01:00:00Z') });
    expect(await monthToDateUsd(newYork, now)).toBe(3);
    expect(await monthToDateUsd(tokyo, now)).toBe(2);
    const listed = await listSchedules(TEAM, now);
    expect(listed.map((s) => [s.timezone, s.templateName, s.monthToDateUsd])).toEqual([
      ['America/New_York', 'weekly-brief', 3],
      ['Asia/Tokyo', 'weekly-brief', 2],
    ]);
    expect(await listSchedules(OTHER_TEAM, now)).toEqual([]);
  });
});

describe('claimOccurrence', () => {
  it('gives each occurrence to one caller, and never an older one', async () => {
    const id = (await created())._id.toString();
    expect(await claimOccurrence(id, '2026-12-07T09:00')).toBe(true);
    expect(await claimOccurrence(id, '2026-12-07T09:00')).toBe(false);
    expect(await claimOccurrence(id, '2026-11-30T09:00')).toBe(false);
    expect(await claimOccurrence(id, '2026-12-14T09:00')).toBe(true);
    expect((await loadSchedule(id))?.lastOccurrence).toBe('2026-12-14T09:00');
    expect(await claimOccurrence('nonsense', '2026-12-21T09:00')).toBe(false);
  });

  it('starts an occurrence once when instances fire it together', async () => {
    const id = (await created())._id;
    const claims = await Promise.all(Array.from({ length: 8 }, () => claimOccurrence(id, '2026-12-07T09:00')));
    expect(claims.filter(Boolean)).toHaveLength(1);
  });
});

describe('occurrenceDecision', () => {
  const now = new Date('2026-12-10T08:00:00Z');

  it('skips a paused schedule, and runs one without a monthly cap whatever it spent', async () => {
    const paused = await pauseSchedule(TEAM, (await created())._id.toString());
    expect(await occurrenceDecision(paused!, now)).toEqual({ decision: 'paused' });
    const uncapped = await created({ monthlyCapUsd: null });
    await storeRun({ scheduleId: uncapped._id, spentUsd: 500 });
    expect(await occurrenceDecision(uncapped, now)).toEqual({ decision: 'run' });
  });

  it('runs while one more run fits the monthly cap, then says once a month that it is reached', async () => {
    const schedule = await created({ capUsd: 3, monthlyCapUsd: 10 });
    const scheduleId = schedule._id;
    await storeRun({ scheduleId, spentUsd: 4, createdAt: new Date('2026-12-03T08:00:00Z') });
    await storeRun({ scheduleId, spentUsd: 3, createdAt: new Date('2026-12-07T08:00:00Z') });
    expect(await occurrenceDecision(schedule, now)).toEqual({ decision: 'run' });
    await storeRun({ scheduleId, spentUsd: 0.5, createdAt: new Date('2026-12-09T08:00:00Z') });
    const first = { decision: 'monthly_cap', month: '2026-12', monthToDateUsd: 7.5, monthlyCapUsd: 10 };
    expect(await occurrenceDecision(schedule, now)).toEqual({ ...first, sayIt: true });
    expect(await occurrenceDecision(schedule, now)).toEqual({ ...first, sayIt: false });
    expect((await loadSchedule(scheduleId))?.skippedMonth).toBe('2026-12');
    // A new month starts from nothing spent.
    expect(await occurrenceDecision(schedule, new Date('2027-01-04T08:00:00Z'))).toEqual({ decision: 'run' });
  });

  it('says it once when instances decide together, and again in the next capped month', async () => {
    const schedule = await created({ capUsd: 3, monthlyCapUsd: 3 });
    await storeRun({ scheduleId: schedule._id, spentUsd: 1, createdAt: new Date('2026-12-01T08:00:00Z') });
    const decisions = await Promise.all(Array.from({ length: 5 }, () => occurrenceDecision(schedule, now)));
    expect(decisions.filter((d) => d.decision === 'monthly_cap' && d.sayIt)).toHaveLength(1);
    await storeRun({ scheduleId: schedule._id, spentUsd: 1, createdAt: new Date('2027-01-02T08:00:00Z') });
    const january = await occurrenceDecision(schedule, new Date('2027-01-04T08:00:00Z'));
    expect(january).toMatchObject({ decision: 'monthly_cap', sayIt: true, month: '2027-01' });
  });
});

describe('scheduledRun', () => {
  it("gives the saved plan with the schedule's values, its budget the run's cap", async () => {
    const schedule = await created({ capUsd: 4.5 });
    const run = await scheduledRun(schedule);
    expect(run).toMatchObject({
      ok: true,
      goal: 'Weekly competitor brief on Globex for Q4, for the analyst team',
      templateId: schedule.templateId.toString(),
    });
    if (run.ok) expect(run.proposal.budget.maxUsd).toBe(4.5);
  });
});
