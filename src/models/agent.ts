/**
 * The roster: agents a proposal may reuse, and the hires recorded when a proposal is approved.
 */
import mongoose, { Schema, type Types } from 'mongoose';
import { type TenantFields, tenantScoped } from './tenantScoped.js';

export interface AgentDoc extends TenantFields {
  _id: Types.ObjectId;
  name: string;
  title: string;
  persona: string;
  skills: string[];
  origin: 'roster' | 'hire';
  /** For hires: the orchestration and role they were hired for, which makes the hire idempotent. */
  hiredFor: { orchestrationId: Types.ObjectId; roleKey: string } | null;
  /**
   * Bumped by every change people make (an edit, retirement): a button or form drawn for an older
   * version changes nothing. Absent on agents stored before agents could be changed, meaning 0.
   */
  version?: number;
  /** Who last edited the title, persona or skills, and when; absent or null until someone does. */
  editedBy?: string | null;
  editedAt?: Date | null;
  /** Retired by an approver: never offered to a plan again, while old runs keep showing its name. */
  retiredAt?: Date | null;
  retiredBy?: string | null;
  createdAt: Date;
}

const AgentSchema = new Schema<AgentDoc>(
  {
    name: { type: String, required: true },
    title: { type: String, required: true },
    persona: { type: String, required: true },
    skills: { type: [String], default: [] },
    origin: { type: String, enum: ['roster', 'hire'], required: true },
    hiredFor: {
      type: new Schema({ orchestrationId: Schema.Types.ObjectId, roleKey: String }, { _id: false }),
      default: null,
    },
    version: { type: Number, default: 0 },
    editedBy: { type: String, default: null },
    editedAt: { type: Date, default: null },
    retiredAt: { type: Date, default: null },
    retiredBy: { type: String, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false } },
);
AgentSchema.index({ name: 1 });
AgentSchema.index({ 'hiredFor.orchestrationId': 1, 'hiredFor.roleKey': 1 });
// The roster reads the agents still serving, newest hires first.
AgentSchema.index({ slackTeamId: 1, origin: 1, retiredAt: 1, createdAt: -1 });

AgentSchema.plugin(tenantScoped);
export const Agent = mongoose.model<AgentDoc>('Agent', AgentSchema);
