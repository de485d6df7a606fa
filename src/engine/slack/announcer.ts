/**
 * Everything the engine tells Slack, in one place, every message built by a function in blocks/: the proposal
 * message and the run card (kept up to date in place, see liveMessages.ts), the posts in the run's thread (through
 * the outbox: stored first, paced, exactly once), the thread's loading status, and the notes one person sees.
 */
import type { WebClient } from '@slack/web-api';
import { encodeControlValue } from '../../blocks/actionIds.js';
import { proposalMessage, type SlackMessage } from '../../blocks/proposal.js';
import { runCardMessage } from '../../blocks/runCard.js';
import { capRaisedMessage, nearCapMessage, runEndedMessage } from '../../blocks/thread.js';
import type { Config } from '../../config.js';
import { describeError, SlackUnavailableError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import type { StepDoc } from '../../models/run.js';
import type { LiveKind, SlackPostDoc } from '../../models/slackPost.js';
import type { Estimator } from '../money/history.js';
import { type OrchestrationId, orchestrationIdOf } from '../plan/ids.js';
import { isFinal } from '../plan/status.js';
import { publishHome } from '../watch/home.js';
import { HomeRefresher } from '../watch/homeRefresher.js';
import { DraftStream, type DraftTarget, STREAM_SCOPE } from './draftStream.js';
import { Foreground } from './foreground.js';
import { LiveMessages } from './liveMessages.js';
import { Notes } from './notes.js';
import { type NewPost, Outbox } from './outbox.js';
import { proposalViewOf } from './proposalView.js';
import { RateGate } from './rateGate.js';
import { fallBackToSections, runCardStyle } from './runCardStyle.js';
import { runCardViewOf } from './runCardView.js';
import { durationOf, rollupMessageOf, settledOrchestration, stepMessages } from './stepPosts.js';
import { ThreadStatus } from './threadStatus.js';
import { timelinePost } from './timelinePost.js';

type ThreadTarget = Pick<OrchestrationDoc, '_id' | 'channelId' | 'messageTs'>;

/** Slack refused the proposal post for good: `channel` when the bot cannot post in that channel. */
export type ProposalPostRefusal = { code: string; channel: boolean };

export interface AnnouncerDeps {
  /** For notes and one-off calls: retries bounded well inside a job's lock. */
  slack: WebClient;
  /** For the outbox and live messages: no retries of its own and 429s handed back, since they pace and retry. */
  postClient: WebClient;
  logger: Logger;
  /** The model planning calls use: the rollup's planning row. */
  planningModel: string;
  estimator: Estimator;
  retryBaseMs: number;
  pacing: Config['slackPacing'];
  /** A dead process's lease lapses within this (the job lock lifetime), so no post waits longer for it. */
  lockLifetimeMs: number;
  /** Who may edit the roster: a republished Home tab keeps their Edit and Retire buttons. */
  approvers?: readonly string[];
}

const CHANNEL_REFUSALS = new Set(['channel_not_found', 'not_in_channel', 'is_archived']);
/** Tier 3 methods (chat.update, setStatus) allow about 50 calls a minute per workspace: 1.2 s apart. */
const TIER3_FACTOR = 1.2;
const MARGIN = 1.1;
/** How long one process holds a post or an update while sending it: longer than a call, shorter than a wait worth noticing. */
const LEASE_MS = 30_000;

export class Announcer {
  readonly estimator: Estimator;
  /** The engine's hand-offs hold it; redraws, thread posts and the working status wait for it to be quiet. */
  readonly foreground = new Foreground();
  private readonly outbox: Outbox;
  private readonly live: LiveMessages;
  private readonly status: ThreadStatus;
  private readonly notes: Notes;
  private readonly gate: RateGate;
  private readonly home: HomeRefresher;
  private readonly slack: WebClient;
  private readonly logger: Logger;

  constructor(private readonly deps: AnnouncerDeps) {
    this.slack = deps.slack;
    this.logger = deps.logger;
    this.estimator = deps.estimator;
    const { paceMs, coalesceMs } = deps.pacing;
    // A tenth more than Slack's own pace: calls leave spaced, but arrive with some jitter.
    const gate = new RateGate((scope) =>
      scope.startsWith('post:') ? paceMs * MARGIN : scope === STREAM_SCOPE ? 0 : paceMs * TIER3_FACTOR * MARGIN,
    );
    this.gate = gate;
    this.outbox = new Outbox(deps.postClient, gate, deps.logger, {
      retryBaseMs: deps.retryBaseMs,
      maxAttempts: 9,
      leaseMs: Math.min(LEASE_MS, deps.lockLifetimeMs),
      onSent: (post) => this.onSent(post),
      repair: (post, reason) => this.repairPost(post, reason),
      quiet: () => this.foreground.quiet(),
    });
    this.live = new LiveMessages(deps.postClient, gate, deps.logger, (kind, id) => this.render(kind, id), {
      intervalMs: coalesceMs,
      retryBaseMs: deps.retryBaseMs,
      leaseMs: Math.min(LEASE_MS, deps.lockLifetimeMs),
      onRefused: (doc, reason) => this.fallBack(String(doc.orchestrationId) as OrchestrationId, doc.kind, reason),
      quiet: () => this.foreground.quiet(),
    });
    this.status = new ThreadStatus(deps.postClient, gate, deps.logger, () => this.foreground.quiet());
    this.notes = new Notes(deps.slack, deps.logger);
    this.home = new HomeRefresher(
      (userId) => publishHome(deps.slack, userId, { approvers: deps.approvers ?? [] }),
      Math.max(2000, deps.pacing.coalesceMs),
      (userId, error) => deps.logger.debug(`could not refresh the Home tab of ${userId}: ${describeError(error)}`),
    );
  }

  /** Finishes what a dead process left: pending posts and undrawn changes. */
  async resume(): Promise<void> {
    await this.outbox.sweep();
    await this.live.sweep();
  }

  stop(): void {
    this.outbox.stop();
    this.live.stop();
  }

  /** Posts the proposal message once; returns Slack's refusal, or null. Throws when Slack is unavailable. */
  async postProposal(doc: OrchestrationDoc): Promise<ProposalPostRefusal | null> {
    const id = orchestrationIdOf(doc);
    const message = proposalMessage(await proposalViewOf(doc, this.estimator));
    const outcome = await this.outbox.sendNow(id, {
      key: `${id}:proposal`,
      channelId: doc.channelId,
      threadTs: null,
      message,
    });
    if (!outcome.ok && 'later' in outcome) throw new SlackUnavailableError(`Slack is unavailable: ${outcome.later}`);
    if (!outcome.ok) return { code: outcome.refused, channel: CHANNEL_REFUSALS.has(outcome.refused) };
    await Orchestration.updateOne({ _id: doc._id }, { $set: { messageTs: outcome.ts } });
    await this.live.register('proposal', id, doc.channelId, outcome.ts, doc);
    return null;
  }

  /**
   * The proposal message and the run card show the stored state again. `urgent` for a change people
   * wait to see (a status, an edit): drawn at once, ahead of routine updates, and awaited unless
   * `wait` is false; otherwise (a step event) coalesced.
   */
  async refresh(id: OrchestrationId, { urgent = true, wait = true } = {}): Promise<void> {
    try {
      await this.live.touch(['proposal', 'runCard'], id, { now: urgent, wait });
      // A change of state shows on the requester's Home tab too (coalesced per person).
      const doc = urgent ? await Orchestration.findById(id, { requesterId: 1 }).lean() : null;
      if (doc) this.home.touch(doc.requesterId);
    } catch (error) {
      this.logger.warn(`could not redraw the messages of ${id}: ${describeError(error)}`);
    }
  }

  /** The run card: the first reply in the thread, kept up to date from then on. */
  async startRunCard(doc: OrchestrationDoc): Promise<void> {
    const id = orchestrationIdOf(doc);
    const message = await this.render('runCard', id, doc);
    if (message) await this.post(doc, [{ key: `${id}:runcard`, message }]);
  }

  /** A live draft of the deliverable in the thread, paced like every other call, once `stored` has stored the thread's earlier posts. */
  draft(target: DraftTarget, stored?: () => Promise<unknown>): DraftStream {
    const landed = async () => {
      await stored?.();
      await this.outbox.drained(target.channelId, target.threadTs);
    };
    const hold = (until: Promise<unknown>) => this.outbox.holdThread(target.channelId, target.threadTs, until);
    return new DraftStream(this.slack, this.logger, target, this.gate, undefined, landed, hold);
  }

  /** While steps run, the thread says who is working on what. Best effort: it is only a hint. */
  showWorking(doc: ThreadTarget, working: { agent: string; title: string }[]): void {
    if (doc.messageTs) this.status.show(doc.channelId, doc.messageTs, working);
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
    const message = nearCapMessage(fresh.budget.spentUsd, fresh.budget.maxUsd);
    await this.post(doc, [{ key: `${String(doc._id)}:nearcap:${fresh.budget.maxUsd}`, message }]);
  }

  async announceCapRaised(doc: OrchestrationDoc, newCapUsd: number, by: string): Promise<void> {
    await this.post(doc, [{ key: `${String(doc._id)}:raise:${newCapUsd}`, message: capRaisedMessage(newCapUsd, by) }]);
    await this.refresh(orchestrationIdOf(doc));
  }

  /** A settled step's thread messages, stored for posting (once: a repeat finds them stored). */
  async announceStep(doc: ThreadTarget, step: StepDoc, agentName?: string): Promise<void> {
    const messages = await stepMessages(step, agentName);
    // A result people sent back is posted again: each round has keys of its own.
    const round = step.history?.length ? `:r${step.history.length}` : '';
    const key = `${String(doc._id)}:step:${String(step._id)}${round}`;
    // The deliverable is also shown in the channel, so people see it without opening the thread.
    const broadcast = step.kind === 'synthesis';
    await this.post(
      doc,
      messages.map((message, i) => ({
        key: `${key}:${i}`,
        message: { ...message, ...(broadcast && i === 0 ? { broadcast } : {}) },
      })),
    );
  }

  /** Posts in the run's thread, through the outbox: stored now, sent in order at Slack's pace. */
  async post(
    doc: ThreadTarget,
    posts: { key: string; message?: SlackMessage & { broadcast?: boolean }; file?: NewPost['file'] }[],
  ) {
    const id = orchestrationIdOf(doc);
    await this.outbox.enqueue(
      id,
      posts.map((p) => ({
        key: p.key,
        channelId: doc.channelId,
        threadTs: doc.messageTs,
        ...(p.message ? { message: p.message } : {}),
        ...(p.file ? { file: p.file } : {}),
      })),
    );
  }

  /** The closing post of an ended orchestration, then the cost rollup and the timeline of its run. */
  async announceEnd(doc: OrchestrationDoc, by: string | null): Promise<void> {
    if (!doc.messageTs) return;
    const fresh = await settledOrchestration(doc);
    const id = orchestrationIdOf(fresh);
    const ending = fresh.transitions.filter((t) => isFinal(t.to)).length;
    const message = runEndedMessage({
      status: fresh.status,
      reason: fresh.statusReason,
      spentUsd: fresh.budget.spentUsd,
      maxUsd: fresh.budget.maxUsd,
      durationMs: durationOf(fresh),
      by,
      raiseCapValue: fresh.budgetStop ? encodeControlValue({ orchestrationId: id, revision: fresh.revision }) : null,
    });
    const posts: Parameters<Announcer['post']>[1] = [{ key: `${id}:end:${ending}`, message }];
    if (fresh.runId) {
      posts.push({ key: `${id}:rollup:${ending}`, message: await rollupMessageOf(fresh, this.deps.planningModel) });
      const picture = await timelinePost(fresh).catch((error: unknown) => {
        this.logger.warn(`could not draw the timeline of ${id}: ${describeError(error)}`);
        return null;
      });
      if (picture) posts.push({ key: `${id}:timeline:${ending}`, file: picture });
    }
    await this.post(fresh, posts);
  }

  /** A note only the clicker sees, through their response_url; false when it could not be sent. */
  respond(responseUrl: string | null, text: string): Promise<boolean> {
    return this.notes.respond(responseUrl, text);
  }

  /** Tells `user` through their response_url, or failing that with an ephemeral message (jobs have no other way). */
  tell(channelId: string, user: string, responseUrl: string | null | undefined, text: string): Promise<void> {
    return this.notes.tell(channelId, user, responseUrl, text);
  }

  /** The client for one-off calls of the engine's own (canvases). */
  get client(): WebClient {
    return this.slack;
  }

  /** Draws from `stored` when the caller has just read or written it, otherwise from a fresh read. */
  private async render(kind: LiveKind, id: OrchestrationId, stored?: OrchestrationDoc): Promise<SlackMessage | null> {
    const doc = stored ?? (await Orchestration.findById(id).lean<OrchestrationDoc>());
    if (!doc?.proposal) return null;
    if (kind === 'proposal') return proposalMessage(await proposalViewOf(doc, this.estimator));
    const [view, style] = await Promise.all([runCardViewOf(doc), runCardStyle(doc.slackTeamId)]);
    return view ? runCardMessage(view, style) : null;
  }

  private async fallBack(id: OrchestrationId, kind: LiveKind, reason: string): Promise<boolean> {
    return kind === 'runCard' && reason === 'invalid_blocks' && fallBackToSections(id, this.logger);
  }

  private async repairPost(post: SlackPostDoc, reason: string): Promise<SlackMessage | null> {
    if (!post.key.endsWith(':runcard')) return null;
    const id = String(post.orchestrationId) as OrchestrationId;
    const fellBack = await this.fallBack(id, 'runCard', reason);
    const style = await runCardStyle(
      (await Orchestration.findById(id, { slackTeamId: 1 }).lean())?.slackTeamId ?? null,
    );
    return fellBack && style === 'sections' ? this.render('runCard', id) : null;
  }

  private async onSent(post: SlackPostDoc): Promise<void> {
    if (!post.key.endsWith(':runcard') || !post.ts) return;
    await this.live.register('runCard', String(post.orchestrationId) as OrchestrationId, post.channelId, post.ts, post);
  }
}
