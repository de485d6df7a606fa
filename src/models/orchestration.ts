/**
 * An orchestration: one /orchestrate goal from planning to its end. Its status only moves by
 * single-document conditional updates (see engine/run/transition.ts), which is what makes a
 * double click, or two instances, decide once.
 */
import mongoose, { Schema, type Types } from 'mongoose';
import type { Proposal } from '../engine/plan/proposal.js';
import { ORCHESTRATION_STATUSES, type OrchestrationStatus } from '../engine/plan/status.js';
import { type TenantFields, tenantScoped } from './tenantScoped.js';

export interface Transition {
  from: OrchestrationStatus;
  to: OrchestrationStatus;
  at: Date;
  reason: string | null;
  by: string | null;
}

export interface Revision {
  revision: number;
  proposal: Proposal;
  change: string;
  by: string | null;
  at: Date;
  /** Set on the revisions that changed the context: the context from this revision on. */
  context?: PlanContext;
}

/** A file whose text is in the context; `chars` is what was kept of it. */
export interface ContextFile {
  name: string;
  chars: number;
  /** Its text was longer than its share of the context and was cut. */
  truncated: boolean;
}

/**
 * Files and notes people added to the plan under review (Add context), given to every step.
 * `text` is all of it as the steps read it, one section per file or note, already cut to the
 * configured bound; `by` and `at` are those of the latest addition.
 */
export interface PlanContext {
  files: ContextFile[];
  /** Pasted notes, one per addition that had any. */
  notes: string[];
  text: string;
  by: string;
  at: Date;
}

/** A reservation for one LLM call in flight, kept until the call is settled. */
export interface BudgetHold {
  id: string;
  /** Who holds it: "plan" or "step:<id>", so a resumed holder can release what a crash left. */
  holder: string;
  usd: number;
  /** When it was reserved: a planning hold much older than a call can take was left by a dead process. */
  at?: Date;
}

/** What the run delivered: kept on the orchestration, apart from the step that wrote it. */
export interface Deliverable {
  markdown: string;
  gaps: string[];
  stepId: Types.ObjectId;
  at: Date;
  /** Where the whole deliverable is kept when it is longer than one message. */
  keptAs?: { kind: 'canvas' | 'file'; id: string | null } | null;
}

/** How people rated the deliverable (the feedback buttons under it): the latest click counts. */
export interface Feedback {
  rating: 'positive' | 'negative';
  by: string;
  at: Date;
}

/** Words from the requester or an approver, in the run's thread: a position at the pause, else guidance. */
export interface HumanInput {
  kind: 'position' | 'guidance';
  userId: string;
  text: string;
  at: Date;
  /** The reply's ts: Slack may deliver an event twice, and it is stored once. */
  ts: string;
}

/** A re-run of one step of a finished run, stored before it is applied so that a crash cannot lose half of it. */
export interface RerunRequest {
  token: string;
  stepId: string;
  by: string;
  feedback: string | null;
  at: Date;
}

/** The run this one follows up on (its gaps), or one that follows up on this. */
export interface RunLink {
  orchestrationId: Types.ObjectId;
  channelId: string;
  goal: string;
}

/** Someone paused the run: no new step starts until it is resumed. */
export interface RunPause {
  by: string;
  at: Date;
}

/** The CEO agent's questions before planning an ambiguous goal, and what the requester did with them. */
export interface Clarification {
  state: 'asked' | 'answered' | 'skipped';
  questions: string[];
  answers: string[] | null;
  by: string | null;
  at: Date;
}

export interface OrchestrationDoc extends TenantFields {
  _id: Types.ObjectId;
  requesterId: string;
  channelId: string;
  messageTs: string | null;
  goal: string;
  status: OrchestrationStatus;
  statusReason: string | null;
  transitions: Transition[];
  proposal: Proposal | null;
  revision: number;
  history: Revision[];
  /** What people added for the agents to read; absent (older documents) or null until someone does. */
  context?: PlanContext | null;
  approvedRevision: number | null;
  approvedBy: string | null;
  approvedAt: Date | null;
  budget: {
    maxUsd: number;
    spentUsd: number;
    reservedUsd: number;
    warned: boolean;
    holds?: BudgetHold[];
    /** Room a process holds for its steps' calls (engine/money/lease.ts), by key. */
    leases?: Record<string, { usd: number; at: Date }>;
    /** Leases of processes that died, booked as spent at their worst case. */
    leftBehindUsd?: number;
  };
  runId: Types.ObjectId | null;
  deliverable: Deliverable | null;
  feedback: Feedback | null;
  /** The request's response_url (valid for 30 minutes): how planning's outcome reaches the requester, even from a sweep. */
  responseUrl: string | null;
  /** The last sequence number given to one of its posts: they are made in that order. */
  postSeq: number;
  /** What people told the run from its thread; absent on older documents. */
  humanInput?: HumanInput[];
  /** Questions asked of the finished run's deliverable, each handled once (by its mention's ts). */
  questions?: Array<{ ts: string; by: string; at: Date; question: string }>;
  /** A recurring goal's run that starts without review: approved, as its schedule's creator, once posted. */
  autoApprove?: { by: string } | null;
  /** A re-run being applied; null otherwise. */
  rerun?: RerunRequest | null;
  /** The run whose gaps this one follows up on, and the runs that follow up on this one. */
  parent?: RunLink | null;
  followUps?: RunLink[];
  /** Asked before planning (ORCHESTRATE_CLARIFY); absent or null until the CEO agent decided. */
  clarification?: Clarification | null;
  /** Paused by a person (Pause on the run card); null while running. */
  paused?: RunPause | null;
  /** The saved plan it was made from, and the recurring goal that started it; null otherwise. */
  templateId?: Types.ObjectId | null;
  scheduleId?: Types.ObjectId | null;
  /** Failed because the budget would have been exceeded: "Raise cap and continue" may resume it. */
  budgetStop: boolean;
  /** How many times a start job took up the approved plan; absent on older documents. */
  startAttempts?: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const TransitionSchema = new Schema<Transition>(
  {
    from: { type: String, required: true },
    to: { type: String, required: true },
    at: { type: Date, required: true },
    reason: { type: String, default: null },
    by: { type: String, default: null },
  },
  { _id: false },
);

const ContextSchema = new Schema<PlanContext>(
  {
    files: {
      type: [new Schema<ContextFile>({ name: String, chars: Number, truncated: Boolean }, { _id: false })],
      default: [],
    },
    notes: { type: [String], default: [] },
    text: { type: String, required: true },
    by: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { _id: false },
);

const RevisionSchema = new Schema<Revision>(
  {
    revision: { type: Number, required: true },
    proposal: { type: Schema.Types.Mixed, required: true },
    change: { type: String, required: true },
    by: { type: String, default: null },
    at: { type: Date, required: true },
    context: { type: ContextSchema, default: undefined },
  },
  { _id: false },
);

const OrchestrationSchema = new Schema<OrchestrationDoc>(
  {
    requesterId: { type: String, required: true },
    channelId: { type: String, required: true },
    messageTs: { type: String, default: null },
    goal: { type: String, required: true },
    status: { type: String, enum: ORCHESTRATION_STATUSES, required: true, default: 'planning' },
    statusReason: { type: String, default: null },
    transitions: { type: [TransitionSchema], default: [] },
    proposal: { type: Schema.Types.Mixed, default: null },
    revision: { type: Number, default: 0 },
    history: { type: [RevisionSchema], default: [] },
    context: { type: ContextSchema, default: null },
    approvedRevision: { type: Number, default: null },
    approvedBy: { type: String, default: null },
    approvedAt: { type: Date, default: null },
    budget: {
      maxUsd: { type: Number, required: true },
      spentUsd: { type: Number, default: 0 },
      reservedUsd: { type: Number, default: 0 },
      warned: { type: Boolean, default: false },
      holds: {
        type: [new Schema<BudgetHold>({ id: String, holder: String, usd: Number, at: Date }, { _id: false })],
        default: [],
      },
      leases: { type: Schema.Types.Mixed, default: undefined },
      leftBehindUsd: { type: Number, default: 0 },
    },
    runId: { type: Schema.Types.ObjectId, default: null },
    deliverable: {
      type: new Schema<Deliverable>(
        { markdown: String, gaps: [String], stepId: Schema.Types.ObjectId, at: Date, keptAs: Schema.Types.Mixed },
        { _id: false },
      ),
      default: null,
    },
    feedback: {
      type: new Schema<Feedback>({ rating: String, by: String, at: Date }, { _id: false }),
      default: null,
    },
    postSeq: { type: Number, default: 0 },
    responseUrl: { type: String, default: null },
    budgetStop: { type: Boolean, default: false },
    humanInput: { type: Schema.Types.Mixed, default: () => [] },
    paused: { type: Schema.Types.Mixed, default: null },
    clarification: { type: Schema.Types.Mixed, default: null },
    rerun: { type: Schema.Types.Mixed, default: null },
    autoApprove: { type: Schema.Types.Mixed, default: null },
    questions: { type: Schema.Types.Mixed, default: () => [] },
    parent: { type: Schema.Types.Mixed, default: null },
    followUps: { type: Schema.Types.Mixed, default: () => [] },
    templateId: { type: Schema.Types.ObjectId, default: null },
    scheduleId: { type: Schema.Types.ObjectId, default: null },
    startAttempts: { type: Number },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
  },
  { timestamps: true, minimize: false },
);
OrchestrationSchema.index({ status: 1 });
// The App Home lists a person's newest requests.
OrchestrationSchema.index({ requesterId: 1, createdAt: -1 });

OrchestrationSchema.plugin(tenantScoped);
export const Orchestration = mongoose.model<OrchestrationDoc>('Orchestration', OrchestrationSchema);
