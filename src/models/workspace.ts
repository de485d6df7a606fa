/** What Orchestrate has learnt about a workspace: whether Slack takes its newer blocks there. */
import mongoose, { Schema, type Types } from 'mongoose';

export interface WorkspaceDoc {
  _id: Types.ObjectId;
  teamId: string;
  /** 'sections' once Slack refused the plan and task_card blocks here: the run card then uses sections. */
  runCardStyle: 'plan' | 'sections';
}

const WorkspaceSchema = new Schema<WorkspaceDoc>({
  teamId: { type: String, required: true },
  runCardStyle: { type: String, enum: ['plan', 'sections'], default: 'plan' },
});
WorkspaceSchema.index({ teamId: 1 }, { unique: true });

export const Workspace = mongoose.model<WorkspaceDoc>('Workspace', WorkspaceSchema);
