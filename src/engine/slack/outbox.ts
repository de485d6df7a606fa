/**
 * The one posting path: every post the engine makes is stored before it is sent, sent in its
 * run's order at Slack's pace (one message a second per channel, Retry-After honoured), and
 * marked once it lands. A send whose outcome is unknown (a dropped connection, a dead process)
 * looks for the post in the thread, by the key in its metadata, before sending again: exactly once.
 */
import type { WebClient } from '@slack/web-api';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { Orchestration } from '../../models/orchestration.js';
import { type FilePayload, type PostPayload, SlackPost, type SlackPostDoc } from '../../models/slackPost.js';
import { tenantOf, withTenant } from '../../tenant.js';
import type { OrchestrationId } from '../plan/ids.js';
import type { RateGate } from './rateGate.js';
import { classifyFailure, findPosted, postMessage, uploadFile } from './slackCalls.js';
import { ThreadHolds } from './threadHolds.js';

export interface NewPost {
  /** Unique for this post, across retries and processes. */
  key: string;
  channelId: string;
  threadTs: string | null;
  message?: PostPayload;
  file?: FilePayload;
}

export interface OutboxOptions {
  /** Base of the backoff between attempts of a post Slack did not take. */
  retryBaseMs: number;
  /** Attempts before a post Slack keeps refusing is given up (and logged). */
  maxAttempts: number;
  /** How long one process holds a post while sending it. */
  leaseMs: number;
  /** Told when a post landed (the run card becomes live once its first post is in). */
  onSent?: (post: SlackPostDoc) => Promise<void>;
  /** Asked for another message when Slack refuses one for good (a fallback style); null gives it up. */
  repair?: (post: SlackPostDoc, reason: string) => Promise<PostPayload | null>;
  /** Resolves when the engine's critical path leaves room: no post goes out during a step hand-off. */
  quiet?: () => Promise<void>;
}

export type SendOutcome = { ok: true; ts: string } | { ok: false; refused: string } | { ok: false; later: string };

const MAX_BACKOFF_MS = 60_000;
export const postScope = (channelId: string) => `post:${channelId}`;

export class Outbox {
  private readonly pumping = new Set<string>();
  private readonly again = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly held = new ThreadHolds();
  private stopped = false;

  constructor(
    private readonly slack: WebClient,
    private readonly gate: RateGate,
    private readonly logger: Logger,
    private readonly options: OutboxOptions,
  ) {}

  /** Stores the posts (a key already stored is left as it is), in this order, and starts sending them. */
  async enqueue(orchestrationId: OrchestrationId, posts: NewPost[]): Promise<void> {
    await this.store(orchestrationId, posts, 'outbox');
    for (const channel of new Set(posts.map((p) => p.channelId))) this.kick(channel);
  }

  private async store(
    orchestrationId: OrchestrationId,
    posts: NewPost[],
    driver: SlackPostDoc['driver'],
  ): Promise<void> {
    if (!posts.length) return;
    const counter = await Orchestration.findOneAndUpdate(
      { _id: orchestrationId },
      { $inc: { postSeq: posts.length } },
      { returnDocument: 'after', projection: { postSeq: 1, slackTeamId: 1, slackEnterpriseId: 1 } },
    ).lean();
    // A post belongs to its orchestration's workspace, whoever stores it (a job, or a sweep across workspaces).
    const tenant = { slackTeamId: counter?.slackTeamId, slackEnterpriseId: counter?.slackEnterpriseId ?? null };
    const first = (counter?.postSeq ?? posts.length) - posts.length + 1;
    for (const [i, post] of posts.entries()) {
      await SlackPost.updateOne(
        { key: post.key },
        {
          $setOnInsert: {
            ...tenant,
            key: post.key,
            orchestrationId,
            channelId: post.channelId,
            threadTs: post.threadTs,
            seq: first + i,
            message: post.message ?? null,
            file: post.file ?? null,
            driver,
          },
        },
        { upsert: true },
      );
    }
  }

  /**
   * Sends one post now and says how it went, for a caller that must know (the proposal post decides
   * the orchestration's fate). Only its caller sends it: a caller that dies is retried as a job.
   */
  async sendNow(orchestrationId: OrchestrationId, post: NewPost): Promise<SendOutcome> {
    await this.store(orchestrationId, [post], 'caller');
    const doc = await SlackPost.findOne({ key: post.key }).lean<SlackPostDoc>();
    if (!doc) return { ok: false, later: 'the post was not stored' };
    if (doc.status === 'sent' && doc.ts) return { ok: true, ts: doc.ts };
    if (doc.status === 'failed') return { ok: false, refused: doc.error ?? 'refused' };
    return this.send(doc);
  }

  /** The thread's posts are stored as usual but sent only once `until` settles (see threadHolds.ts). */
  holdThread(channelId: string, threadTs: string, until: Promise<unknown>): void {
    this.held.hold(channelId, threadTs, until, () => this.kick(channelId));
  }

  /** Resolves once no post of the thread waits to be sent (at most `maxWaitMs`): what must come after them can go. */
  async drained(channelId: string, threadTs: string, maxWaitMs = 3000): Promise<void> {
    const deadline = Date.now() + maxWaitMs;
    // Posts held for what waits on this (the draft closing) come after it, not before.
    const waiting = (held = this.held.since(channelId, threadTs)) =>
      SlackPost.exists({ channelId, threadTs, status: 'pending', ...(held ? { createdAt: { $lt: held } } : {}) });
    while (Date.now() < deadline && (await waiting())) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Looks at every channel with posts due: after a restart, and now and then for posts stored by other instances. */
  async sweep(): Promise<void> {
    const channels: string[] = await SlackPost.distinct('channelId', { status: 'pending', driver: 'outbox' });
    for (const channel of channels) this.kick(channel);
  }

  /** Sends what is due in `channel`, one post at a time, in order. Safe to call any number of times. */
  kick(channelId: string): void {
    if (this.stopped) return;
    if (this.pumping.has(channelId)) {
      this.again.add(channelId);
      return;
    }
    this.pumping.add(channelId);
    // Across workspaces: a channel shared between two (Slack Connect) holds posts of both; each is sent as its own.
    void withTenant(null, () => this.pump(channelId))
      .catch((error: unknown) => this.logger.warn(`posting in ${channelId} stopped: ${describeError(error)}`))
      .finally(() => {
        this.pumping.delete(channelId);
        if (this.again.delete(channelId)) this.kick(channelId);
      });
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private async pump(channelId: string): Promise<void> {
    for (;;) {
      await this.options.quiet?.();
      if (this.stopped) return;
      const next = await this.nextDue(channelId);
      if (!next.post) {
        if (next.wakeAt) this.wakeAt(channelId, next.wakeAt);
        return;
      }
      await this.send(next.post);
    }
  }

  /** The first pending post of each thread, if it is due: a later post of a thread never overtakes an earlier one. */
  private async nextDue(channelId: string): Promise<{ post?: SlackPostDoc; wakeAt?: Date }> {
    const pending = await SlackPost.find({ channelId, status: 'pending', driver: 'outbox' })
      .sort({ seq: 1, _id: 1 })
      .lean<SlackPostDoc[]>();
    const heads = new Map<string, SlackPostDoc>();
    for (const p of pending) {
      const thread = `${String(p.orchestrationId)}:${p.threadTs ?? ''}`;
      if (!heads.has(thread)) heads.set(thread, p);
    }
    const now = Date.now();
    let wakeAt: Date | undefined;
    for (const head of [...heads.values()].sort((a, b) => +new Date(a.createdAt) - +new Date(b.createdAt))) {
      if (this.held.has(head.channelId, head.threadTs, head.createdAt)) continue; // kicked again once released
      const leased = head.leaseUntil && new Date(head.leaseUntil).getTime() > now;
      const due = new Date(head.nextAttemptAt).getTime() <= now;
      if (due && !leased) return { post: head };
      const at = leased ? new Date(head.leaseUntil!) : new Date(head.nextAttemptAt);
      if (!wakeAt || at < wakeAt) wakeAt = at;
    }
    return wakeAt ? { wakeAt } : {};
  }

  private wakeAt(channelId: string, at: Date): void {
    clearTimeout(this.timers.get(channelId));
    const delay = Math.max(10, at.getTime() - Date.now());
    this.timers.set(
      channelId,
      setTimeout(() => {
        this.timers.delete(channelId);
        this.kick(channelId);
      }, delay),
    );
  }

  /** One attempt at one post, as its workspace: a pump may have been started by a sweep serving them all. */
  private send(post: SlackPostDoc): Promise<SendOutcome> {
    return withTenant(tenantOf(post), () => this.sendAs(post));
  }

  /** One attempt at one post, under a lease, so that no two processes send it at once. */
  private async sendAs(post: SlackPostDoc): Promise<SendOutcome> {
    const now = new Date();
    const claimed = await SlackPost.findOneAndUpdate(
      { _id: post._id, status: 'pending', $or: [{ leaseUntil: null }, { leaseUntil: { $lt: now } }] },
      { $set: { leaseUntil: new Date(now.getTime() + this.options.leaseMs) }, $inc: { attempts: 1 } },
      { returnDocument: 'after' },
    ).lean<SlackPostDoc>();
    if (!claimed) return { ok: false, later: 'another process is sending it' };
    try {
      if (claimed.uncertain) {
        const ts = await this.lookUp(claimed);
        if (ts) return await this.landed(claimed, ts);
      }
      // Marked before the call: should the process die during it, the next one looks before sending.
      await SlackPost.updateOne({ _id: claimed._id }, { $set: { uncertain: true } });
      // The turn last, right before the call: the spacing Slack sees is the spacing the gate keeps.
      await this.gate.turn(postScope(claimed.channelId));
      const ts = claimed.file
        ? await uploadFile(this.slack, claimed, claimed.file)
        : await postMessage(this.slack, claimed, claimed.message!);
      return await this.landed(claimed, ts);
    } catch (error) {
      return this.failed(claimed, error);
    }
  }

  /** The ts of the post if it landed after all. Without the history scopes it cannot tell: it says so and sends. */
  private async lookUp(doc: SlackPostDoc): Promise<string | null> {
    const where = { channelId: doc.channelId, threadTs: doc.threadTs, since: new Date(doc.createdAt) };
    try {
      return await findPosted(this.slack, where, doc.key);
    } catch (error) {
      if (classifyFailure(error).kind !== 'refused') throw error;
      this.logger.warn(`could not look for ${doc.key} in the thread (${describeError(error)}): it may be posted twice`);
      return null;
    }
  }

  private async landed(doc: SlackPostDoc, ts: string): Promise<SendOutcome> {
    const sent = { status: 'sent' as const, ts, uncertain: false, leaseUntil: null, error: null };
    await SlackPost.updateOne({ _id: doc._id }, { $set: sent });
    await this.options.onSent?.({ ...doc, status: 'sent', ts });
    return { ok: true, ts };
  }

  private async failed(doc: SlackPostDoc, error: unknown): Promise<SendOutcome> {
    const failure = classifyFailure(error);
    if (failure.kind === 'refused') {
      const repaired = await this.options.repair?.(doc, failure.reason).catch(() => null);
      if (repaired) {
        await SlackPost.updateOne(
          { _id: doc._id },
          { $set: { message: repaired, uncertain: false, leaseUntil: null, nextAttemptAt: new Date() } },
        );
        return { ok: false, later: `repaired after ${failure.reason}` };
      }
      this.logger.warn(`Slack refused the post ${doc.key}: ${failure.reason}; it is given up`);
      await SlackPost.updateOne(
        { _id: doc._id },
        { $set: { status: 'failed', error: failure.reason, uncertain: false, leaseUntil: null } },
      );
      return { ok: false, refused: failure.reason };
    }
    if (failure.kind === 'rate_limited') {
      // Not taken, and not an attempt that counts: wait as long as Slack says, then go on in order.
      this.gate.pause(postScope(doc.channelId), failure.retryAfterMs);
      const at = new Date(Date.now() + failure.retryAfterMs);
      await SlackPost.updateOne(
        { _id: doc._id },
        { $set: { nextAttemptAt: at, uncertain: false, leaseUntil: null }, $inc: { attempts: -1 } },
      );
      return { ok: false, later: 'rate limited' };
    }
    const reason = failure.reason;
    if (doc.driver === 'outbox' && doc.attempts >= this.options.maxAttempts) {
      this.logger.error(`gave up a post after ${doc.attempts} attempts (${doc.key}): ${reason}`);
      await SlackPost.updateOne({ _id: doc._id }, { $set: { status: 'failed', error: reason, leaseUntil: null } });
      return { ok: false, later: reason };
    }
    const backoff = Math.min(MAX_BACKOFF_MS, this.options.retryBaseMs * 2 ** (doc.attempts - 1));
    const nextAttemptAt = new Date(Date.now() + backoff);
    const retry = { nextAttemptAt, uncertain: failure.kind === 'unknown', leaseUntil: null, error: reason };
    await SlackPost.updateOne({ _id: doc._id }, { $set: retry });
    return { ok: false, later: reason };
  }
}
