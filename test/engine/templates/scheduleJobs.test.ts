/**
 * A recurring goal's job in a real Agenda on the embedded database (engine/templates/scheduleJobs.ts):
 * one repeating job per schedule, due at its next occurrence in its zone, idempotent to register,
 * removed by unregistering; and a firing, duplicated or not, starts its occurrence once.
 */
import { MongoBackend } from '@agendajs/mongo-backend';
import { Agenda, type Job } from 'agenda';
import mongoose from 'mongoose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { wallClock } from '../../../src/engine/templates/cron.js';
import type { ScheduleJobData } from '../../../src/engine/templates/scheduleJobs.js';
import {
  claimOccurrence,
  createSchedule,
  loadSchedule,
  occurrenceKeyAt,
  registerSchedule,
  scheduleJobName,
  unregisterSchedule,
} from '../../../src/engine/templates/schedules.js';
import { saveTemplate } from '../../../src/engine/templates/templates.js';
import type { ScheduleCadence, ScheduleDoc } from '../../../src/models/schedule.js';
import { REQUESTER, storeRun, TEAM, useDatabase } from './support.js';

useDatabase();

const COLLECTION = 'agendaJobs';
let agenda: Agenda;

const jobs = () => mongoose.connection.db!.collection(COLLECTION);

beforeEach(async () => {
  await jobs().deleteMany({});
  agenda = new Agenda({
    backend: new MongoBackend({ mongo: mongoose.connection.db!, collection: COLLECTION }),
    processEvery: 50,
  });
  await agenda.ready;
});

afterEach(async () => {
  await agenda.stop();
});

async function schedule(cadence: ScheduleCadence, timezone: string): Promise<ScheduleDoc> {
  const saved = await saveTemplate({
    teamId: TEAM,
    name: `brief-${Math.random().toString(36).slice(2, 8)}`,
    description: '',
    orchestrationId: await storeRun(),
    marks: {},
    by: REQUESTER,
  });
  if (!saved.ok) throw new Error(saved.error);
  const created = await createSchedule({
    teamId: TEAM,
    templateId: saved.template._id.toString(),
    values: {},
    cadence,
    timezone,
    channelId: 'CBRIEFS',
    runWithoutReview: false,
    capUsd: 2,
    monthlyCapUsd: null,
    by: REQUESTER,
    isApprover: false,
  });
  if (!created.ok) throw new Error(created.error);
  return created.schedule;
}

const jobsOf = (s: ScheduleDoc) =>
  jobs().find({ name: scheduleJobName, 'data.scheduleId': s._id.toString() }).toArray();

describe('registerSchedule', () => {
  it('keeps one repeating job per schedule, due at its next occurrence in its own zone', async () => {
    const tokyo = await schedule({ kind: 'daily', time: '09:00' }, 'Asia/Tokyo');
    const paris = await schedule({ kind: 'weekly', day: 1, time: '17:30' }, 'Europe/Paris');
    const before = Date.now();
    await registerSchedule(agenda, tokyo);
    await registerSchedule(agenda, paris);
    expect(await jobs().countDocuments({ name: scheduleJobName })).toBe(2);

    const [daily] = await jobsOf(tokyo);
    expect(daily).toMatchObject({ repeatInterval: '0 9 * * *', repeatTimezone: 'Asia/Tokyo' });
    expect(daily!.nextRunAt.getTime()).toBeGreaterThan(before);
    expect(daily!.nextRunAt.getTime() - before).toBeLessThanOrEqual(24 * 3600_000);
    expect(wallClock(daily!.nextRunAt, 'Asia/Tokyo')).toMatchObject({ hour: 9, minute: 0 });

    const [weekly] = await jobsOf(paris);
    expect(weekly).toMatchObject({ repeatInterval: '30 17 * * 1', repeatTimezone: 'Europe/Paris' });
    expect(weekly!.nextRunAt.getTime()).toBeGreaterThan(before);
    expect(weekly!.nextRunAt.getTime() - before).toBeLessThanOrEqual(7 * 24 * 3600_000);
    expect(wallClock(weekly!.nextRunAt, 'Europe/Paris')).toMatchObject({ weekday: 1, hour: 17, minute: 30 });
  });

  it('leaves a registered job and its next run alone when registered again, as on every start', async () => {
    const tokyo = await schedule({ kind: 'daily', time: '09:00' }, 'Asia/Tokyo');
    await registerSchedule(agenda, tokyo);
    const [first] = await jobsOf(tokyo);
    // Due a minute ago and not yet run: registering again must not push it to tomorrow.
    await jobs().updateOne({ _id: first!._id }, { $set: { nextRunAt: new Date(Date.now() - 60_000) } });
    await registerSchedule(agenda, tokyo);
    await registerSchedule(agenda, tokyo);
    const again = await jobsOf(tokyo);
    expect(again).toHaveLength(1);
    expect(again[0]!._id).toEqual(first!._id);
    expect(again[0]!.nextRunAt.getTime()).toBeLessThan(Date.now());
  });

  it('replaces the job when the cadence or the zone changed', async () => {
    const tokyo = await schedule({ kind: 'daily', time: '09:00' }, 'Asia/Tokyo');
    await registerSchedule(agenda, tokyo);
    await registerSchedule(agenda, { ...tokyo, cadence: { kind: 'cron', expression: '0 10 * * 1-5' } });
    expect(await jobsOf(tokyo)).toEqual([
      expect.objectContaining({ repeatInterval: '0 10 * * 1-5', repeatTimezone: 'Asia/Tokyo' }),
    ]);
    await registerSchedule(agenda, { ...tokyo, timezone: 'UTC' });
    expect(await jobsOf(tokyo)).toEqual([
      expect.objectContaining({ repeatInterval: '0 9 * * *', repeatTimezone: 'UTC' }),
    ]);
  });

  it('is why every() is not used: Agenda stores one every() job per name, whatever its data', async () => {
    await agenda.every('0 9 * * *', scheduleJobName, { scheduleId: 'a' }, { timezone: 'UTC', skipImmediate: true });
    await agenda.every('0 10 * * *', scheduleJobName, { scheduleId: 'b' }, { timezone: 'UTC', skipImmediate: true });
    expect(await jobs().find({ name: scheduleJobName }).toArray()).toEqual([
      expect.objectContaining({ data: { scheduleId: 'b' }, type: 'single' }),
    ]);
  });
});

describe('unregisterSchedule', () => {
  it("removes that schedule's job only", async () => {
    const tokyo = await schedule({ kind: 'daily', time: '09:00' }, 'Asia/Tokyo');
    const paris = await schedule({ kind: 'daily', time: '09:00' }, 'Europe/Paris');
    await registerSchedule(agenda, tokyo);
    await registerSchedule(agenda, paris);
    expect(await unregisterSchedule(agenda, tokyo._id)).toBe(1);
    expect(await unregisterSchedule(agenda, tokyo._id.toString())).toBe(0);
    expect(await jobsOf(tokyo)).toEqual([]);
    expect(await jobsOf(paris)).toHaveLength(1);
  });
});

describe('a firing', () => {
  it('hands the handler the schedule id, starts its occurrence once even from two copies of the job, then waits for the next', async () => {
    const tokyo = await schedule({ kind: 'daily', time: '09:00' }, 'Asia/Tokyo');
    await registerSchedule(agenda, tokyo);
    const [job] = await jobsOf(tokyo);
    // Due now, and stored twice, as two instances racing to register it could leave it without a unique index.
    const due = new Date(Date.now() - 1000);
    const { _id, ...copy } = job!;
    await jobs().insertOne({ ...copy, nextRunAt: due });
    await jobs().updateOne({ _id }, { $set: { nextRunAt: due } });

    const outcomes: { scheduleId: string; firedAt: Date; key: string; claimed: boolean }[] = [];
    const done = new Promise<void>((resolve) => {
      agenda.define<ScheduleJobData>(
        scheduleJobName,
        async (fired: Job<ScheduleJobData>) => {
          const stored = await loadSchedule(fired.attrs.data.scheduleId);
          const firedAt = fired.attrs.lastRunAt ?? new Date();
          const key = occurrenceKeyAt(stored!, firedAt);
          outcomes.push({
            scheduleId: fired.attrs.data.scheduleId,
            firedAt,
            key,
            claimed: await claimOccurrence(stored!._id, key),
          });
          if (outcomes.length === 2) resolve();
        },
        { concurrency: 2 },
      );
    });
    const completed = new Promise<void>((resolve) => {
      let n = 0;
      agenda.on(`complete:${scheduleJobName}`, () => {
        n += 1;
        if (n === 2) resolve();
      });
    });
    await agenda.start();
    await done;
    await completed;

    expect(outcomes.map((o) => o.scheduleId)).toEqual([tokyo._id.toString(), tokyo._id.toString()]);
    // 09:00 in Tokyo is midnight UTC: the occurrence is the UTC day the job fired on.
    const day = outcomes[0]!.firedAt.toISOString().slice(0, 10);
    expect(outcomes.map((o) => o.key)).toEqual([`${day}T09:00`, `${day}T09:00`]);
    expect(outcomes.filter((o) => o.claimed)).toHaveLength(1);
    expect((await loadSchedule(tokyo._id))?.lastOccurrence).toBe(outcomes[0]!.key);
    // Both copies now wait for the next 09:00 in Tokyo rather than running again.
    for (const stored of await jobsOf(tokyo)) {
      expect(stored.nextRunAt.getTime()).toBeGreaterThan(Date.now());
      expect(wallClock(stored.nextRunAt, 'Asia/Tokyo')).toMatchObject({ hour: 9, minute: 0 });
    }
  });
});
