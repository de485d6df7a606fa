/**
 * What the engine tells Slack: redraws of the proposal message and posts in its thread.
 * Posts are made exactly once per record: the ts is stored before anything else happens,
 * and a retried step updates its stored messages instead of posting new ones.
 */
import type { WebClient } from '@slack/web-api';
import type { Types } from 'mongoose';
import { proposalMessage, type SlackMessage } from '../blocks/proposal.js';
import type { Estimate } from './estimate.js';
import type { Proposal } from './proposal.js';
import { Orchestration, type OrchestrationDoc } from '../models/orchestration.js';
import { Step } from '../models/run.js';
import type { Logger } from '../logger.js';

export type Estimator = (proposal: Proposal) => Promise<Estimate | null>;

export class Announcer {
  constructor(
    private readonly slack: WebClient,
    private readonly logger: Logger,
    readonly estimator: Estimator = async () => null,
  ) {}

  /** Redraws the proposal message from the stored state. Never throws: a failed redraw must not fail a step. */
  async refresh(orchestrationId: Types.ObjectId | string): Promise<void> {
    try {
      const doc = await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>();
      if (!doc?.messageTs || !doc.proposal) return;
      const message = proposalMessage(await viewOf(doc, this.estimator));
      await this.slack.chat.update({ channel: doc.channelId, ts: doc.messageTs, text: message.text, blocks: message.blocks });
    } catch (error) {
      this.logger.warn(`could not redraw the proposal message of ${String(orchestrationId)}: ${describe(error)}`);
    }
  }

  /** Posts in the orchestration's thread; returns the ts, or null when Slack refused. */
  async postInThread(doc: Pick<OrchestrationDoc, 'channelId' | 'messageTs'>, message: SlackMessage): Promise<string | null> {
    try {
      const res = await this.slack.chat.postMessage({
        channel: doc.channelId,
        ...(doc.messageTs ? { thread_ts: doc.messageTs } : {}),
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
        unfurl_media: false,
      });
      return res.ts ?? null;
    } catch (error) {
      this.logger.warn(`could not post in the thread: ${describe(error)}`);
      return null;
    }
  }

  /** A note only `user` sees; used where no response_url is at hand (jobs). */
  async ephemeral(channel: string, user: string, text: string): Promise<void> {
    await this.slack.chat
      .postEphemeral({ channel, user, text })
      .catch((error: unknown) => this.logger.warn(`could not post an ephemeral note: ${describe(error)}`));
  }

  /**
   * Posts a step's messages exactly once: each ts is stored on the step before the next post,
   * and a message already posted (by an earlier attempt) is updated in place.
   */
  async postStepMessages(stepId: Types.ObjectId, doc: Pick<OrchestrationDoc, 'channelId' | 'messageTs'>, messages: SlackMessage[]) {
    const step = await Step.findById(stepId, { posts: 1 }).lean();
    const posts = [...(step?.posts ?? [])];
    for (const [i, message] of messages.entries()) {
      const existing = posts[i];
      if (existing) {
        await this.slack.chat
          .update({ channel: doc.channelId, ts: existing, text: message.text, blocks: message.blocks })
          .catch((error: unknown) => this.logger.warn(`could not update a step post: ${describe(error)}`));
        continue;
      }
      const ts = await this.postInThread(doc, message);
      if (!ts) return;
      posts.push(ts);
      await Step.updateOne({ _id: stepId }, { $set: { posts } });
    }
  }
}

export async function viewOf(doc: OrchestrationDoc, estimator?: Estimator) {
  const ticketStates: Record<string, string> = {};
  if (doc.runId) {
    const steps = await Step.find({ runId: doc.runId, kind: 'ticket' }, { ticketKey: 1, status: 1 }).lean();
    for (const s of steps) if (s.ticketKey) ticketStates[s.ticketKey] = s.status;
  }
  const end = doc.finishedAt ?? null;
  return {
    orchestrationId: String(doc._id),
    revision: doc.revision,
    status: doc.status,
    statusReason: doc.statusReason,
    requesterId: doc.requesterId,
    goal: doc.goal,
    proposal: doc.proposal!,
    budget: { maxUsd: doc.budget.maxUsd, spentUsd: doc.budget.spentUsd },
    approvedBy: doc.approvedBy,
    budgetStop: doc.budgetStop,
    estimate: doc.status === 'proposed' && estimator && doc.proposal ? await estimator(doc.proposal) : null,
    durationMs: end && doc.startedAt ? new Date(end).getTime() - new Date(doc.startedAt).getTime() : null,
    ticketStates,
  };
}

export function describe(error: unknown): string {
  const e = error as { data?: { error?: string }; message?: string };
  return e?.data?.error ?? e?.message ?? String(error);
}
