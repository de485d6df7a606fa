/**
 * A saved plan: an approved proposal kept under a name, with the parts of its goal that change from
 * run to run marked as parameters. Names are unique per workspace; the embedded database ignores unique
 * indexes, so engine/templates/templates.ts claims a name with one conditional upsert.
 */
import mongoose, { Schema, type Types } from 'mongoose';
import type { Proposal } from '../engine/plan/proposal.js';
import { type TenantFields, tenantScoped } from './tenantScoped.js';

/** A parameter and the value it had in the plan the template was saved from. */
export interface TemplateParamDoc {
  name: string;
  original: string;
}

/** A stored saved plan. */
export interface TemplateDoc extends TenantFields {
  _id: Types.ObjectId;
  /** A lowercase slug, what people type after `/orchestrate use`. */
  name: string;
  description: string;
  /** The goal with each parameter written `{{name}}`. */
  goalPattern: string;
  params: TemplateParamDoc[];
  /** The approved proposal, as it was approved. */
  proposal: Proposal;
  sourceOrchestrationId: Types.ObjectId;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

const TemplateSchema = new Schema<TemplateDoc>(
  {
    name: { type: String, required: true },
    description: { type: String, default: '' },
    goalPattern: { type: String, required: true },
    params: {
      type: [new Schema<TemplateParamDoc>({ name: String, original: String }, { _id: false })],
      default: [],
    },
    proposal: { type: Schema.Types.Mixed, required: true },
    sourceOrchestrationId: { type: Schema.Types.ObjectId, required: true },
    createdBy: { type: String, required: true },
  },
  { timestamps: true, minimize: false },
);
// Enforced where the database enforces it; the conditional upsert decides everywhere else.
TemplateSchema.index({ slackTeamId: 1, name: 1 }, { unique: true });

/** The saved plans collection. */
TemplateSchema.plugin(tenantScoped);
export const Template = mongoose.model<TemplateDoc>('Template', TemplateSchema);
