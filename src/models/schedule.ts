/**
 * A recurring goal: a saved plan run on a cadence, in one time zone, posted to one channel, under a
 * cap per run and a cap per calendar month. The queue holds one repeating job per schedule; which
 * occurrence has been started, and which month's "cap reached" has been said, are claimed here by
 * conditional updates, so that instances firing together start and speak once.
 */
import mongoose, { Schema, type Types } from 'mongoose';
import { type TenantFields, tenantScoped } from './tenantScoped.js';

/** When it runs; `day` 0 is Sunday. Checked by engine/templates/cadence.ts before it is stored. */
export type ScheduleCadence =
  | { kind: 'daily'; time: string }
  | { kind: 'weekly'; day: number; time: string }
  | { kind: 'cron'; expression: string };

/** A stored recurring goal. */
export interface ScheduleDoc extends TenantFields {
  _id: Types.ObjectId;
  templateId: Types.ObjectId;
  /** The value of each of the template's parameters. */
  values: Record<string, string>;
  cadence: ScheduleCadence;
  /** IANA name: the cadence and the month are read on this zone's wall clock. */
  timezone: string;
  channelId: string;
  /** Runs start approved, without a person reviewing the plan; only an approver may set it. */
  runWithoutReview: boolean;
  /** The budget of each run. */
  capUsd: number;
  /** What the runs of one calendar month may spend together; null for no monthly cap. */
  monthlyCapUsd: number | null;
  paused: boolean;
  createdBy: string;
  /** The latest occurrence started ("2026-12-01T09:00", wall clock): an occurrence is started once. */
  lastOccurrence: string | null;
  /** The month ("2026-12") for which "monthly cap reached" was already said. */
  skippedMonth: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const ScheduleSchema = new Schema<ScheduleDoc>(
  {
    templateId: { type: Schema.Types.ObjectId, required: true },
    values: { type: Schema.Types.Mixed, default: () => ({}) },
    cadence: { type: Schema.Types.Mixed, required: true },
    timezone: { type: String, required: true },
    channelId: { type: String, required: true },
    runWithoutReview: { type: Boolean, default: false },
    capUsd: { type: Number, required: true },
    monthlyCapUsd: { type: Number, default: null },
    paused: { type: Boolean, default: false },
    createdBy: { type: String, required: true },
    lastOccurrence: { type: String, default: null },
    skippedMonth: { type: String, default: null },
  },
  { timestamps: true, minimize: false },
);
ScheduleSchema.index({ slackTeamId: 1, createdAt: 1 });
ScheduleSchema.index({ templateId: 1 });

/** The recurring goals collection. */
ScheduleSchema.plugin(tenantScoped);
export const Schedule = mongoose.model<ScheduleDoc>('Schedule', ScheduleSchema);
