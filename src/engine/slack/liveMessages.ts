/**
 * Messages kept up to date in place: the proposal message and the run card. A change bumps the
 * message's version; one update at a time is in flight, drawn from the state stored when it is
 * sent, and updates are coalesced (at most one per interval however many changes arrive). So the
 * last update to land always shows the last stored state, whatever Slack does in between.
 */
import type { WebClient } from '@slack/web-api';
import type { SlackMessage } from '../../blocks/proposal.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { type LiveKind, LiveMessage, type LiveMessageDoc } from '../../models/slackPost.js';
import type { TenantFields } from '../../models/tenantScoped.js';
import { currentTenant, tenantOf, withTenant } from '../../tenant.js';
import type { OrchestrationId } from '../plan/ids.js';
import type { RateGate } from './rateGate.js';
import { classifyFailure } from './slackCalls.js';

/** Draws a live message from what is stored now; null when there is nothing to draw. */
export type Renderer = (kind: LiveKind, id: OrchestrationId, channelId: string) => Promise<SlackMessage | null>;

/** Told when Slack refuses an update for good; true when it changed something worth another try (a fallback style). */
export type RefusalHandler = (doc: LiveMessageDoc, reason: string) => Promise<boolean>;

export interface LiveOptions {
  /** Least time between two updates of one message. */
  intervalMs: number;
  retryBaseMs: number;
  leaseMs: number;
  onRefused?: RefusalHandler;
  /** Resolves when the engine's critical path leaves room: no update is drawn during a step hand-off. */
  quiet?: () => Promise<void>;
}

/** Slack limits updates per workspace: one workspace's redraws never wait for another's. */
export const updateScope = () => `update:${currentTenant()?.teamId ?? ''}`;
const MAX_ATTEMPTS = 9;
const keyOf = (kind: LiveKind, id: OrchestrationId) => `${id}:${kind}`;

export class LiveMessages {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly flushing = new Map<string, Promise<void>>();
  /** Messages with a change people wait to see: their next update takes the urgent lane. */
  private readonly urgent = new Set<string>();
  private stopped = false;

  constructor(
    private readonly slack: WebClient,
    private readonly gate: RateGate,
    private readonly logger: Logger,
    private readonly render: Renderer,
    private readonly options: LiveOptions,
  ) {}

  /** Starts keeping a posted message up to date. */
  async register(
    kind: LiveKind,
    id: OrchestrationId,
    channelId: string,
    ts: string,
    owner: TenantFields,
  ): Promise<void> {
    const key = keyOf(kind, id);
    const tenant = { slackTeamId: owner.slackTeamId, slackEnterpriseId: owner.slackEnterpriseId ?? null };
    await LiveMessage.updateOne(
      { key },
      {
        $setOnInsert: { ...tenant, key, kind, orchestrationId: id, channelId, ts, drawnVersion: 0 },
        $inc: { version: 1 },
      },
      { upsert: true },
    );
    this.schedule(key, 0);
  }

  /**
   * The messages' state changed (`kinds`: the orchestration's messages it shows in, marked in one
   * write). `now`: a change people wait to see (a status, an edit): drawn at once, after the update
   * in flight, ahead of routine updates; awaited unless `wait` is false (the engine, whose next step
   * must not wait for Slack; the change is stored, so a sweep draws it should this process die).
   * Otherwise (a step event) coalesced.
   */
  async touch(kinds: LiveKind[], id: OrchestrationId, { now = false, wait = true } = {}): Promise<void> {
    const keys = kinds.map((kind) => keyOf(kind, id));
    const res = await LiveMessage.updateMany(
      { key: { $in: keys } },
      { $inc: { version: 1 }, ...(now ? { $set: { lastDrawnAt: null } } : {}) },
    );
    if (!res.matchedCount) return;
    // Not all of them posted yet (no run card before the run): only those that are are drawn.
    const marked =
      res.matchedCount === keys.length
        ? keys
        : (await LiveMessage.find({ key: { $in: keys } }, { key: 1 }).lean()).map((m) => m.key);
    if (!now) {
      for (const key of marked) this.schedule(key, 0);
      return;
    }
    for (const key of marked) this.urgent.add(key);
    const drawn = Promise.all(marked.map((key) => this.flushAfterCurrent(key)));
    if (wait) await drawn;
  }

  /** Every message with a change not yet drawn: after a restart, and for changes made by other instances. */
  async sweep(): Promise<void> {
    const dirty = await LiveMessage.find({ $expr: { $gt: ['$version', '$drawnVersion'] } }, { key: 1 }).lean();
    for (const d of dirty) this.schedule(d.key, 0);
  }

  /** Resolves when no update is in flight in this process. */
  async idle(): Promise<void> {
    while (this.flushing.size) await Promise.all([...this.flushing.values()]);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(key: string, delayMs: number): void {
    if (this.stopped || this.timers.has(key)) return;
    this.timers.set(
      key,
      setTimeout(
        () => {
          this.timers.delete(key);
          void this.flushAfterCurrent(key);
        },
        Math.max(0, delayMs),
      ),
    );
  }

  private async flushAfterCurrent(key: string): Promise<void> {
    for (;;) {
      const current = this.flushing.get(key);
      if (!current) break;
      await current;
    }
    const run = this.flush(key)
      .catch((error: unknown) => this.logger.warn(`could not update ${key}: ${describeError(error)}`))
      .finally(() => this.flushing.delete(key));
    this.flushing.set(key, run);
    await run;
  }

  private async flush(key: string): Promise<void> {
    await this.options.quiet?.();
    if (this.stopped) return;
    const now = new Date();
    const claimed = await LiveMessage.findOneAndUpdate(
      { key, $or: [{ leaseUntil: null }, { leaseUntil: { $lt: now } }] },
      { $set: { leaseUntil: new Date(now.getTime() + this.options.leaseMs) } },
      { returnDocument: 'after' },
    ).lean<LiveMessageDoc>();
    if (!claimed) return this.schedule(key, this.options.intervalMs); // another process is drawing it
    let outcome: DrawOutcome;
    try {
      // As the message's workspace, whoever asked for the redraw (a sweep serves them all).
      outcome = await withTenant(tenantOf(claimed), () => this.draw(claimed, now.getTime()));
    } catch (error) {
      await this.letGo(claimed, {});
      throw error;
    }
    const fresh = await this.letGo(claimed, outcome.update);
    if (!fresh || fresh.version <= fresh.drawnVersion) return;
    const notBefore = fresh.lastDrawnAt ? new Date(fresh.lastDrawnAt).getTime() + this.options.intervalMs : Date.now();
    this.schedule(key, Math.max(outcome.retryAt ?? 0, notBefore) - Date.now());
  }

  /**
   * Lets go of a message this process drew, storing how the draw went in the same write (the
   * drawn version, or when to try again); returns the message as stored then, with any change
   * made meanwhile.
   */
  private letGo(doc: LiveMessageDoc, update: DrawOutcome['update']) {
    return LiveMessage.findOneAndUpdate(
      { _id: doc._id },
      { ...update, $set: { ...update.$set, leaseUntil: null } },
      { returnDocument: 'after', projection: { version: 1, drawnVersion: 1, lastDrawnAt: 1 } },
    ).lean<Pick<LiveMessageDoc, 'version' | 'drawnVersion' | 'lastDrawnAt'>>();
  }

  /** One update, if one is due: what to store of it, and when to try again after a failure. */
  private async draw(doc: LiveMessageDoc, now: number): Promise<DrawOutcome> {
    if (doc.version <= doc.drawnVersion) return { retryAt: null, update: {} };
    const notBefore = Math.max(
      doc.lastDrawnAt ? new Date(doc.lastDrawnAt).getTime() + this.options.intervalMs : 0,
      new Date(doc.nextAt).getTime(),
    );
    if (now < notBefore) return { retryAt: notBefore, update: {} };
    const version = doc.version;
    const id = String(doc.orchestrationId) as OrchestrationId;
    const message = await this.render(doc.kind, id, doc.channelId);
    const drawn = (at: Date | null): DrawOutcome => ({
      retryAt: null,
      update: { $max: { drawnVersion: version }, $set: { attempts: 0, ...(at ? { lastDrawnAt: at } : {}) } },
    });
    if (!message) return drawn(null);
    const key = doc.key;
    await this.gate.turn(updateScope(), { urgent: this.urgent.delete(key) });
    try {
      await this.slack.chat.update({
        channel: doc.channelId,
        ts: doc.ts,
        text: message.text,
        blocks: message.blocks,
      });
      return drawn(new Date());
    } catch (error) {
      return this.failed(doc, version, error);
    }
  }

  private async failed(doc: LiveMessageDoc, version: number, error: unknown): Promise<DrawOutcome> {
    const failure = classifyFailure(error);
    if (failure.kind === 'rate_limited') {
      this.gate.pause(updateScope(), failure.retryAfterMs);
      return retryAt(Date.now() + failure.retryAfterMs, false);
    }
    if (failure.kind === 'refused') {
      if (await this.options.onRefused?.(doc, failure.reason)) return retryAt(Date.now(), false);
      this.logger.warn(`Slack refused an update of ${doc.key}: ${failure.reason}`);
      return { retryAt: null, update: { $max: { drawnVersion: version } } };
    }
    if (doc.attempts + 1 >= MAX_ATTEMPTS) {
      this.logger.error(`gave up updating ${doc.key} after ${MAX_ATTEMPTS} attempts: ${failure.reason}`);
      return { retryAt: null, update: { $max: { drawnVersion: version }, $set: { attempts: 0 } } };
    }
    return retryAt(Date.now() + this.options.retryBaseMs * 2 ** doc.attempts, true);
  }
}

/** How a draw went, as stored when the message is let go: drawn (up to a version), or tried again at `retryAt`. */
interface DrawOutcome {
  retryAt: number | null;
  update: {
    $max?: { drawnVersion: number };
    $set?: { attempts?: number; lastDrawnAt?: Date; nextAt?: Date };
    $inc?: { attempts: number };
  };
}

/** Not drawn this time: another try at `at` (a failure `counts` towards giving up). */
const retryAt = (at: number, counts: boolean): DrawOutcome => ({
  retryAt: at,
  update: { $set: { nextAt: new Date(at) }, ...(counts ? { $inc: { attempts: 1 } } : {}) },
});
