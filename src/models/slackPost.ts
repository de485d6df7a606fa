/**
 * The outbox: every message the engine posts is recorded here before it is sent and marked once it
 * lands, so that a new process finishes what a dead one started, and a post is made exactly once.
 */
import mongoose, { Schema, type Types } from 'mongoose';
import { type TenantFields, tenantScoped } from './tenantScoped.js';

export interface PostPayload {
  text: string;
  blocks?: unknown[];
  /** Also shown in the channel, not only in the thread. */
  broadcast?: boolean;
}

export interface FilePayload {
  filename: string;
  title: string;
  /** The file's bytes, base64: pictures of a few tens of kilobytes. */
  base64: string;
  altText?: string;
  comment?: string;
}

export interface SlackPostDoc extends TenantFields {
  _id: Types.ObjectId;
  /** Unique per post: what the message's metadata carries, and how a landed post is found again. */
  key: string;
  orchestrationId: Types.ObjectId;
  channelId: string;
  threadTs: string | null;
  /** Order of posting within the orchestration. */
  seq: number;
  message: PostPayload | null;
  file: FilePayload | null;
  status: 'pending' | 'sent' | 'failed';
  /** 'caller': sent only by the job that must know the outcome (the proposal post), never by the outbox's own loop. */
  driver: 'outbox' | 'caller';
  ts: string | null;
  attempts: number;
  /** A send was started whose outcome is unknown (dropped connection, crash): look before sending again. */
  uncertain: boolean;
  nextAttemptAt: Date;
  leaseUntil: Date | null;
  error: string | null;
  createdAt: Date;
}

const SlackPostSchema = new Schema<SlackPostDoc>(
  {
    key: { type: String, required: true },
    orchestrationId: { type: Schema.Types.ObjectId, required: true },
    channelId: { type: String, required: true },
    threadTs: { type: String, default: null },
    seq: { type: Number, required: true },
    message: { type: Schema.Types.Mixed, default: null },
    file: { type: Schema.Types.Mixed, default: null },
    status: { type: String, enum: ['pending', 'sent', 'failed'], default: 'pending' },
    driver: { type: String, enum: ['outbox', 'caller'], default: 'outbox' },
    ts: { type: String, default: null },
    attempts: { type: Number, default: 0 },
    uncertain: { type: Boolean, default: false },
    nextAttemptAt: { type: Date, default: () => new Date() },
    leaseUntil: { type: Date, default: null },
    error: { type: String, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false }, minimize: false },
);
SlackPostSchema.index({ key: 1 }, { unique: true });
SlackPostSchema.index({ status: 1, channelId: 1, seq: 1 });
SlackPostSchema.index({ orchestrationId: 1 });

SlackPostSchema.plugin(tenantScoped);
export const SlackPost = mongoose.model<SlackPostDoc>('SlackPost', SlackPostSchema);

export type LiveKind = 'proposal' | 'runCard';

/**
 * A message kept up to date in place (the proposal message, the run card). A change bumps
 * `version`; one flusher at a time draws it from the state stored at that moment and records the
 * version it drew, so an older drawing can never land after a newer one.
 */
export interface LiveMessageDoc extends TenantFields {
  _id: Types.ObjectId;
  key: string;
  kind: LiveKind;
  orchestrationId: Types.ObjectId;
  channelId: string;
  ts: string;
  version: number;
  drawnVersion: number;
  lastDrawnAt: Date | null;
  nextAt: Date;
  leaseUntil: Date | null;
  attempts: number;
}

const LiveMessageSchema = new Schema<LiveMessageDoc>(
  {
    key: { type: String, required: true },
    kind: { type: String, enum: ['proposal', 'runCard'], required: true },
    orchestrationId: { type: Schema.Types.ObjectId, required: true },
    channelId: { type: String, required: true },
    ts: { type: String, required: true },
    version: { type: Number, default: 0 },
    drawnVersion: { type: Number, default: 0 },
    lastDrawnAt: { type: Date, default: null },
    nextAt: { type: Date, default: () => new Date() },
    leaseUntil: { type: Date, default: null },
    attempts: { type: Number, default: 0 },
  },
  { minimize: false },
);
LiveMessageSchema.index({ key: 1 }, { unique: true });

LiveMessageSchema.plugin(tenantScoped);
export const LiveMessage = mongoose.model<LiveMessageDoc>('LiveMessage', LiveMessageSchema);
