/** What Orchestrate keeps per workspace: who approves there, and whether Slack takes its newer blocks there. */
import mongoose, { Schema, type Types } from 'mongoose';
import { type TenantFields, tenantScoped } from './tenantScoped.js';

export interface WorkspaceDoc extends TenantFields {
  _id: Types.ObjectId;
  /** 'sections' once Slack refused the plan and task_card blocks here: the run card then uses sections. */
  runCardStyle: 'plan' | 'sections';
  /** Who may approve here besides ORCHESTRATE_APPROVERS: with OAuth, the installer and whom approvers named. */
  approvers: string[];
}

const WorkspaceSchema = new Schema<WorkspaceDoc>({
  runCardStyle: { type: String, enum: ['plan', 'sections'], default: 'plan' },
  approvers: { type: [String], default: [] },
});
WorkspaceSchema.index({ slackTeamId: 1 }, { unique: true });

WorkspaceSchema.plugin(tenantScoped);
export const Workspace = mongoose.model<WorkspaceDoc>('Workspace', WorkspaceSchema);
