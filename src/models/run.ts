/**
 * A run executes one approved pipeline; its Steps are separate documents so that parallel
 * steps update themselves with single-document conditional writes and never contend.
 */
import mongoose, { Schema, type Types } from 'mongoose';
import type { Pipeline, StepKind } from '../engine/plan/materializer.js';
import type { DeclaredOutput } from '../engine/plan/outputs.js';
import { STEP_STATUSES, type StepStatus } from '../engine/plan/status.js';
import { type TenantFields, tenantScoped } from './tenantScoped.js';

export interface RunDoc extends TenantFields {
  _id: Types.ObjectId;
  orchestrationId: Types.ObjectId;
  teamId: Types.ObjectId;
  projectId: Types.ObjectId;
  pipeline: Pipeline;
  startedAt: Date;
}

const RunSchema = new Schema<RunDoc>(
  {
    orchestrationId: { type: Schema.Types.ObjectId, required: true, index: true },
    teamId: { type: Schema.Types.ObjectId, required: true },
    projectId: { type: Schema.Types.ObjectId, required: true },
    pipeline: { type: Schema.Types.Mixed, required: true },
    startedAt: { type: Date, required: true },
  },
  { timestamps: true, minimize: false },
);

RunSchema.plugin(tenantScoped);
export const Run = mongoose.model<RunDoc>('Run', RunSchema);

export interface StepDoc extends TenantFields {
  _id: Types.ObjectId;
  runId: Types.ObjectId;
  orchestrationId: Types.ObjectId;
  key: string;
  kind: StepKind;
  title: string;
  roleKey: string | null;
  agentId: Types.ObjectId | null;
  ticketKey: string | null;
  dependsOn: string[];
  /** What the ticket declared it produces (null for prose): how its structured result is shown. */
  declaredOutput: DeclaredOutput | null;
  order: number;
  status: StepStatus;
  attempts: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  output: string | null;
  structured: unknown;
  error: string | null;
  skipReason: string | null;
  model: string | null;
  tokens: { input: number; output: number; cached: number };
  costUsd: number;
  /** The job running the step, and until when its claim holds unless renewed: no second job may run it meanwhile. */
  claimedBy: string | null;
  leaseUntil: Date | null;
  /** People review the result before anything builds on it (a gated ticket). */
  reviewGate: boolean;
  /** A gated result: awaiting people, or accepted (as written, or as someone edited it). */
  review: StepReview | null;
  /** Rework asked for by people: given to the next attempt with the result it replaces. */
  feedback: string | null;
  /** Earlier results of this step (reworked, or replaced by an edit), oldest first. */
  history: StepHistoryEntry[];
  /** A step that builds on a re-run one: its result is kept, but nothing builds on it until people choose. */
  outdated: boolean;
  /** The re-run request that last put the step back to run: applying a request twice resets it once. */
  rerunToken: string | null;
  /** The pause for people holds until then, when nobody starts the work sooner. */
  waitUntil: Date | null;
  /** Every tool call the step made: what it asked, how long it took, how much came back, and its error. */
  toolCalls: StepToolCall[];
  /** The URLs the step really retrieved (search results seen, pages read): what its citations are checked against. */
  retrieved: Array<{ url: string; kinds: Array<'search' | 'fetched'>; title: string | null }>;
  /** Each URL the result cites, and whether this run retrieved it. */
  citations: Array<{ url: string; retrieved: boolean }>;
}

export interface StepReview {
  state: 'awaiting' | 'accepted';
  by: string | null;
  at: Date;
  /** Who replaced the result with their own text, when someone did. */
  editedBy?: string | null;
  /** Which result this is (earlier ones are in the history): a click drawn for another is stale. */
  round: number;
}

export interface StepHistoryEntry {
  /** "rework": an attempt people sent back; "edit": the text an edit replaced; "rerun": a finished run's result run again. */
  kind: 'rework' | 'edit' | 'rerun';
  output: string | null;
  structured: unknown;
  by: string;
  at: Date;
  feedback: string | null;
}

export interface StepToolCall {
  tool: string;
  arguments: string;
  durationMs: number;
  resultChars: number;
  truncated: boolean;
  error: string | null;
}

const StepSchema = new Schema<StepDoc>(
  {
    runId: { type: Schema.Types.ObjectId, required: true, index: true },
    orchestrationId: { type: Schema.Types.ObjectId, required: true, index: true },
    key: { type: String, required: true },
    kind: { type: String, required: true },
    title: { type: String, required: true },
    roleKey: { type: String, default: null },
    agentId: { type: Schema.Types.ObjectId, default: null },
    ticketKey: { type: String, default: null },
    dependsOn: { type: [String], default: [] },
    declaredOutput: { type: Schema.Types.Mixed, default: null },
    order: { type: Number, required: true },
    status: { type: String, enum: STEP_STATUSES, default: 'pending' },
    attempts: { type: Number, default: 0 },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
    output: { type: String, default: null },
    structured: { type: Schema.Types.Mixed, default: null },
    error: { type: String, default: null },
    skipReason: { type: String, default: null },
    model: { type: String, default: null },
    tokens: {
      input: { type: Number, default: 0 },
      output: { type: Number, default: 0 },
      cached: { type: Number, default: 0 },
    },
    costUsd: { type: Number, default: 0 },
    claimedBy: { type: String, default: null },
    leaseUntil: { type: Date, default: null },
    // Written whole, never queried by their fields: plain data, not subdocuments.
    reviewGate: { type: Boolean, default: false },
    review: { type: Schema.Types.Mixed, default: null },
    feedback: { type: String, default: null },
    history: { type: Schema.Types.Mixed, default: () => [] },
    waitUntil: { type: Date, default: null },
    outdated: { type: Boolean, default: false },
    rerunToken: { type: String, default: null },
    toolCalls: { type: Schema.Types.Mixed, default: () => [] },
    retrieved: { type: Schema.Types.Mixed, default: () => [] },
    citations: { type: Schema.Types.Mixed, default: () => [] },
  },
  { timestamps: true, minimize: false },
);

// The roster's figures (runs done, spend) are summed per agent.
StepSchema.index({ agentId: 1 });
// A step job renews the lease of every step it runs (its own, and the chain it goes on with).
StepSchema.index({ claimedBy: 1, status: 1 });

StepSchema.plugin(tenantScoped);
export const Step = mongoose.model<StepDoc>('Step', StepSchema);
