/**
 * What the engine tells Slack: redraws of the proposal message and posts in its thread (step
 * results, the 80% warning, the closing post and the cost rollup).
 * Posts are made exactly once per record: the ts is stored before anything else happens,
 * and a retried step updates its stored messages instead of posting new ones.
 */
import { ErrorCode, type WebClient } from '@slack/web-api';
import type { Types } from 'mongoose';
import { encodeControlValue } from '../blocks/actionIds.js';
import { proposalMessage, type SlackMessage } from '../blocks/proposal.js';
import { rollupMessage } from '../blocks/rollup.js';
import { formatUsd } from '../blocks/text.js';
import { deliverableMessages, positionMessage, runEndedMessage, stepFailedMessage, stepResultMessages } from '../blocks/thread.js';
import type { Logger } from '../logger.js';
import { Agent } from '../models/agent.js';
import { Orchestration, type OrchestrationDoc } from '../models/orchestration.js';
import { Step, type StepDoc } from '../models/run.js';
import type { Estimate } from './estimate.js';
import type { Proposal } from './proposal.js';
import { rollup } from './rollup.js';
import { storedGaps, storedPosition } from './steps.js';

export type Estimator = (proposal: Proposal) => Promise<Estimate | null>;

/** Slack was unreachable, or rate limiting past the client's retry window: the job is worth retrying. */
export class SlackUnavailableError extends Error {
  override name = 'SlackUnavailableError';
}

const TRANSIENT_PLATFORM_ERRORS = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/** Whether a Slack Web API failure may pass by itself (network, 5xx, rate limit), as opposed to a refusal. */
export function isTransientSlackError(error: unknown): boolean {
  const e = error as { code?: string; data?: { error?: string }; message?: string } | null;
  if (!e) return false;
  if (e.code === ErrorCode.RequestError || e.code === ErrorCode.HTTPError || e.code === ErrorCode.RateLimitedError) return true;
  if (e.code === ErrorCode.PlatformError) return TRANSIENT_PLATFORM_ERRORS.has(e.data?.error ?? '');
  // What the client throws once its retries for a 429 are spent.
  return /rate limit was exceeded/i.test(e.message ?? '');
}

export class Announcer {
  constructor(
    private readonly slack: WebClient,
    private readonly logger: Logger,
    /** The model planning calls use: the rollup's planning row. */
    private readonly model: string,
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

  /**
   * Posts in the orchestration's thread; returns the ts, or null when Slack refused. With
   * `retryable`, a transient failure throws SlackUnavailableError instead, so that the job
   * posting it is retried rather than the post lost.
   */
  async postInThread(doc: Pick<OrchestrationDoc, 'channelId' | 'messageTs'>, message: SlackMessage, { retryable = false } = {}): Promise<string | null> {
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
      if (retryable && isTransientSlackError(error)) throw new SlackUnavailableError(`Slack is unavailable: ${describe(error)}`);
      this.logger.warn(`could not post in the thread: ${describe(error)}`);
      return null;
    }
  }

  /** Posts once, when spend first reaches 80% of the cap (a raised cap may warn again). */
  async warnNearCap(doc: OrchestrationDoc): Promise<void> {
    const fresh = await Orchestration.findById(doc._id, { budget: 1 }).lean();
    if (!fresh || fresh.budget.warned || fresh.budget.spentUsd < 0.8 * fresh.budget.maxUsd) return;
    const won = await Orchestration.updateOne({ _id: doc._id, 'budget.warned': false }, { $set: { 'budget.warned': true } });
    if (won.modifiedCount !== 1) return;
    const pct = Math.floor((100 * fresh.budget.spentUsd) / fresh.budget.maxUsd);
    await this.postInThread(doc, {
      text: `${pct}% of the budget is spent`,
      blocks: [
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: `:warning: *${pct}% of the budget is spent*: ${formatUsd(fresh.budget.spentUsd)} of ${formatUsd(fresh.budget.maxUsd)}. The cap is a hard ceiling: calls that could pass it will not be made.`,
          },
        },
      ],
    });
  }

  /** The thread posts a settled step is owed, built from the stored step alone. */
  async stepMessages(step: StepDoc): Promise<SlackMessage[]> {
    const agentName = step.agentId ? ((await Agent.findById(step.agentId, { name: 1 }).lean())?.name ?? '') : '';
    const durationMs = step.startedAt && step.finishedAt ? new Date(step.finishedAt).getTime() - new Date(step.startedAt).getTime() : null;
    const figures = { costUsd: step.costUsd, durationMs, model: step.model };
    if (step.status === 'failed' && step.kind === 'ticket') {
      return [stepFailedMessage(step.title, agentName || null, step.error ?? 'unknown error', figures)];
    }
    if (step.status !== 'succeeded') return [];
    switch (step.kind) {
      case 'discuss': {
        const position = storedPosition(step.structured, step.output);
        return [positionMessage(step.title.replace(/^Position: /, ''), agentName, position.position, position.risks, figures)];
      }
      case 'synthesis':
        return deliverableMessages(step.output ?? '', storedGaps(step.structured), figures);
      case 'research':
      case 'ticket':
        return stepResultMessages(step.title, agentName, step.output ?? '', figures);
      default:
        return [];
    }
  }

  /** The closing post of an ended orchestration, then the cost rollup of its run. */
  async announceEnd(doc: OrchestrationDoc, by: string | null): Promise<void> {
    if (!doc.messageTs) return;
    const fresh = await this.settled(doc);
    const durationMs = fresh.startedAt && fresh.finishedAt ? new Date(fresh.finishedAt).getTime() - new Date(fresh.startedAt).getTime() : null;
    await this.postInThread(
      fresh,
      runEndedMessage({
        status: fresh.status,
        reason: fresh.statusReason,
        spentUsd: fresh.budget.spentUsd,
        maxUsd: fresh.budget.maxUsd,
        durationMs,
        by,
        raiseCapValue: fresh.budgetStop ? encodeControlValue({ o: String(fresh._id), r: fresh.revision }) : null,
      }),
    );
    if (fresh.runId) await this.postRollup(fresh);
  }

  /** The orchestration once the calls a cancel or a stop aborted have settled (a moment later), so that the figures add up. */
  private async settled(doc: OrchestrationDoc): Promise<OrchestrationDoc> {
    let settled = (await Orchestration.findById(doc._id).lean<OrchestrationDoc>()) ?? doc;
    let waited = false;
    for (let i = 0; i < 30 && settled.budget.reservedUsd > 1e-9; i++) {
      waited = true;
      await new Promise((r) => setTimeout(r, 100));
      settled = (await Orchestration.findById(doc._id).lean<OrchestrationDoc>()) ?? settled;
    }
    // Each call's share is booked on its step right after its hold is settled: give those a moment.
    if (waited) await new Promise((r) => setTimeout(r, 150));
    return settled;
  }

  private async postRollup(doc: OrchestrationDoc): Promise<void> {
    const steps = await Step.find({ runId: doc.runId, kind: { $ne: 'done' } }).sort({ order: 1 }).lean<StepDoc[]>();
    const roleTitle = new Map((doc.proposal?.roles ?? []).map((r) => [r.key, r.title]));
    const summary = rollup(
      steps.map((s) => ({
        title: s.title,
        role: roleTitle.get(s.roleKey ?? '') ?? s.roleKey ?? '',
        model: s.model,
        status: s.status,
        tokens: s.tokens,
        costUsd: s.costUsd,
        durationMs: s.startedAt && s.finishedAt ? new Date(s.finishedAt).getTime() - new Date(s.startedAt).getTime() : null,
      })),
      doc.budget.spentUsd,
      this.model,
    );
    await this.postInThread(doc, rollupMessage(summary));
  }

  /**
   * A note only the clicker sees, through the response_url of their command or click. It reaches
   * them where chat.postEphemeral cannot: a public channel the bot has not joined.
   */
  async respond(responseUrl: string | null, text: string): Promise<boolean> {
    if (!responseUrl) return false;
    try {
      const res = await fetch(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
      });
      return res.ok;
    } catch (error) {
      this.logger.warn(`could not answer via response_url: ${describe(error)}`);
      return false;
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
      const ts = await this.postInThread(doc, message, { retryable: true });
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
