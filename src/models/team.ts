/** The team formed for an approved orchestration: its agents, led by the synthesis role. */
import mongoose, { Schema, type Types } from 'mongoose';
import { type TenantFields, tenantScoped } from './tenantScoped.js';

export interface TeamDoc extends TenantFields {
  _id: Types.ObjectId;
  orchestrationId: Types.ObjectId;
  name: string;
  channelId: string;
  leadAgentId: Types.ObjectId;
  members: { roleKey: string; agentId: Types.ObjectId }[];
}

const TeamSchema = new Schema<TeamDoc>(
  {
    orchestrationId: { type: Schema.Types.ObjectId, required: true, index: true },
    name: { type: String, required: true },
    channelId: { type: String, required: true },
    leadAgentId: { type: Schema.Types.ObjectId, required: true },
    members: [{ _id: false, roleKey: String, agentId: Schema.Types.ObjectId }],
  },
  { timestamps: true },
);

TeamSchema.plugin(tenantScoped);
export const Team = mongoose.model<TeamDoc>('Team', TeamSchema);
