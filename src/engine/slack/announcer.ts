/**
 * Everything the engine tells Slack, in one place: the proposal message (posted once, then
 * redrawn from the stored state), the posts in its thread, and the notes one person sees.
 * Every message is built by a function in blocks/. Posts are made exactly once per record: the
 * ts is stored before anything else happens, and a retried step updates its stored messages.
 */
import type { WebClient } from '@slack/web-api';
import { encodeControlValue } from '../../blocks/actionIds.js';
import { proposalMessage, type SlackMessage } from '../../blocks/proposal.js';
import {
  capRaisedMessage,
  nearCapMessage,
  runEndedMessage,
  type TeamMember,
  teamFormedMessage,
} from '../../blocks/thread.js';
import { describeError, SlackUnavailableError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import type { Estimator } from '../money/history.js';
import { type OrchestrationId, orchestrationIdOf } from '../plan/ids.js';
import { proposalViewOf } from './proposalView.js';
import { CHANNEL_REFUSALS, isTransientSlackError } from './slackErrors.js';
import { durationOf, rollupMessageOf, stepMessages } from './stepPosts.js';

type ThreadTarget = Pick<OrchestrationDoc, 'channelId' | 'messageTs'>;

/** Slack refused the proposal post for good: `channel` when the bot cannot post in that channel. */
export type ProposalPostRefusal = { code: string; channel: boolean };

export class Announcer {
  constructor(
    private readonly slack: WebClient,
    private readonly logger: Logger,
    /** The model planning calls use: the rollup's planning row. */
    private readonly planningModel: string,
    readonly estimator: Estimator = async () => null,
  ) {}

  /** Posts the proposal message once (its ts is stored); returns Slack's refusal, or null. Throws when Slack is unavailable. */
  async postProposal(doc: OrchestrationDoc): Promise<ProposalPostRefusal | null> {
    const message = proposalMessage(await proposalViewOf(doc, this.estimator));
    try {
      const res = await this.slack.chat.postMessage({
        channel: doc.channelId,
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
      });
      await Orchestration.updateOne({ _id: doc._id }, { $set: { messageTs: res.ts } });
      return null;
    } catch (error) {
      if (isTransientSlackError(error))
        throw new SlackUnavailableError(`Slack is unavailable: ${describeError(error)}`);
      const code = describeError(error);
      return { code, channel: CHANNEL_REFUSALS.has(code) };
    }
  }

  /** Redraws the proposal message from the stored state. Never throws: a failed redraw must not fail a step. */
  async refresh(id: OrchestrationId): Promise<void> {
    try {
      const doc = await Orchestration.findById(id).lean<OrchestrationDoc>();
      if (!doc?.messageTs || !doc.proposal) return;
      const message = proposalMessage(await proposalViewOf(doc, this.estimator));
      await this.slack.chat.update({
        channel: doc.channelId,
        ts: doc.messageTs,
        text: message.text,
        blocks: message.blocks,
      });
    } catch (error) {
      this.logger.warn(`could not redraw the proposal message of ${id}: ${describeError(error)}`);
    }
  }

  /**
   * Posts in the orchestration's thread; returns the ts, or null when Slack refused. With
   * `retryable`, a transient failure throws SlackUnavailableError instead, so that the job
   * posting it is retried rather than the post lost.
   */
  async postInThread(doc: ThreadTarget, message: SlackMessage, { retryable = false } = {}): Promise<string | null> {
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
      if (retryable && isTransientSlackError(error)) {
        throw new SlackUnavailableError(`Slack is unavailable: ${describeError(error)}`);
      }
      this.logger.warn(`could not post in the thread: ${describeError(error)}`);
      return null;
    }
  }

  /** The team formed for a run, with how many steps it will run. Throws when Slack is unavailable. */
  announceTeam(doc: ThreadTarget, teamName: string, members: TeamMember[], stepCount: number): Promise<string | null> {
    return this.postInThread(doc, teamFormedMessage(teamName, members, stepCount), { retryable: true });
  }

  /** Posts once, when spend first reaches 80% of the cap (a raised cap may warn again). */
  async warnNearCap(doc: OrchestrationDoc): Promise<void> {
    const fresh = await Orchestration.findById(doc._id, { budget: 1 }).lean();
    if (!fresh || fresh.budget.warned || fresh.budget.spentUsd < 0.8 * fresh.budget.maxUsd) return;
    const won = await Orchestration.updateOne(
      { _id: doc._id, 'budget.warned': false },
      { $set: { 'budget.warned': true } },
    );
    if (won.modifiedCount !== 1) return;
    await this.postInThread(doc, nearCapMessage(fresh.budget.spentUsd, fresh.budget.maxUsd));
  }

  async announceCapRaised(doc: OrchestrationDoc, newCapUsd: number, by: string): Promise<void> {
    await this.postInThread(doc, capRaisedMessage(newCapUsd, by));
    await this.refresh(orchestrationIdOf(doc));
  }

  /** Posts a settled step's thread messages (once: a repeat updates them). Throws when Slack is unavailable. */
  async announceStep(doc: ThreadTarget, step: StepDoc): Promise<void> {
    const messages = await stepMessages(step);
    if (messages.length) await this.postStepMessages(step, doc, messages);
  }

  /** The closing post of an ended orchestration, then the cost rollup of its run. */
  async announceEnd(doc: OrchestrationDoc, by: string | null): Promise<void> {
    if (!doc.messageTs) return;
    const fresh = await this.settled(doc);
    const message = runEndedMessage({
      status: fresh.status,
      reason: fresh.statusReason,
      spentUsd: fresh.budget.spentUsd,
      maxUsd: fresh.budget.maxUsd,
      durationMs: durationOf(fresh),
      by,
      raiseCapValue: fresh.budgetStop
        ? encodeControlValue({ orchestrationId: orchestrationIdOf(fresh), revision: fresh.revision })
        : null,
    });
    await this.postInThread(fresh, message);
    if (fresh.runId) await this.postInThread(fresh, await rollupMessageOf(fresh, this.planningModel));
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
      this.logger.warn(`could not answer via response_url: ${describeError(error)}`);
      return false;
    }
  }

  /** Tells `user` through their response_url, or failing that with an ephemeral message (jobs have no other way). */
  async tell(channelId: string, user: string, responseUrl: string | null | undefined, text: string): Promise<void> {
    if (await this.respond(responseUrl ?? null, text)) return;
    await this.slack.chat
      .postEphemeral({ channel: channelId, user, text })
      .catch((error: unknown) => this.logger.warn(`could not post an ephemeral note: ${describeError(error)}`));
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

  /**
   * Posts a step's messages exactly once: each ts is stored on the step before the next post,
   * and a message already posted (by an earlier attempt) is updated in place.
   */
  private async postStepMessages(step: StepDoc, doc: ThreadTarget, messages: SlackMessage[]): Promise<void> {
    const stored = await Step.findById(step._id, { posts: 1 }).lean();
    const posts = [...(stored?.posts ?? [])];
    for (const [i, message] of messages.entries()) {
      const existing = posts[i];
      if (existing) {
        await this.slack.chat
          .update({ channel: doc.channelId, ts: existing, text: message.text, blocks: message.blocks })
          .catch((error: unknown) => this.logger.warn(`could not update a step post: ${describeError(error)}`));
        continue;
      }
      const ts = await this.postInThread(doc, message, { retryable: true });
      if (!ts) return;
      posts.push(ts);
      await Step.updateOne({ _id: step._id }, { $set: { posts } });
    }
  }
}
