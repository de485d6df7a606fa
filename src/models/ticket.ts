/** A sub-ticket filed under a project: the durable record of one unit of approved work. */
import mongoose, { Schema, type Types } from 'mongoose';
import { type TenantFields, tenantScoped } from './tenantScoped.js';

export interface TicketDoc extends TenantFields {
  _id: Types.ObjectId;
  orchestrationId: Types.ObjectId;
  projectId: Types.ObjectId;
  key: string;
  title: string;
  description: string;
  roleKey: string;
  agentId: Types.ObjectId;
  dependsOn: string[];
}

const TicketSchema = new Schema<TicketDoc>(
  {
    orchestrationId: { type: Schema.Types.ObjectId, required: true, index: true },
    projectId: { type: Schema.Types.ObjectId, required: true },
    key: { type: String, required: true },
    title: { type: String, required: true },
    description: { type: String, required: true },
    roleKey: { type: String, required: true },
    agentId: { type: Schema.Types.ObjectId, required: true },
    dependsOn: { type: [String], default: [] },
  },
  { timestamps: true },
);

TicketSchema.plugin(tenantScoped);
export const TicketModel = mongoose.model<TicketDoc>('Ticket', TicketSchema);
