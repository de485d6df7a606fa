/**
 * The roster: agents a proposal may reuse, and the hires recorded when a proposal is approved.
 */
import mongoose, { Schema, type Types } from 'mongoose';

export interface AgentDoc {
  _id: Types.ObjectId;
  name: string;
  title: string;
  persona: string;
  skills: string[];
  origin: 'roster' | 'hire';
  /** For hires: the orchestration and role they were hired for, which makes the hire idempotent. */
  hiredFor: { orchestrationId: Types.ObjectId; roleKey: string } | null;
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
  },
  { timestamps: { createdAt: true, updatedAt: false } },
);
AgentSchema.index({ name: 1 });
AgentSchema.index({ 'hiredFor.orchestrationId': 1, 'hiredFor.roleKey': 1 });

export const Agent = mongoose.model<AgentDoc>('Agent', AgentSchema);
