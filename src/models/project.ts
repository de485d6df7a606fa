/** The project that files an approved orchestration's sub-tickets. */
import mongoose, { Schema, type Types } from 'mongoose';
import { type TenantFields, tenantScoped } from './tenantScoped.js';

export interface ProjectDoc extends TenantFields {
  _id: Types.ObjectId;
  orchestrationId: Types.ObjectId;
  teamId: Types.ObjectId;
  name: string;
  goal: string;
}

const ProjectSchema = new Schema<ProjectDoc>(
  {
    orchestrationId: { type: Schema.Types.ObjectId, required: true, index: true },
    teamId: { type: Schema.Types.ObjectId, required: true },
    name: { type: String, required: true },
    goal: { type: String, required: true },
  },
  { timestamps: true },
);

ProjectSchema.plugin(tenantScoped);
export const Project = mongoose.model<ProjectDoc>('Project', ProjectSchema);
