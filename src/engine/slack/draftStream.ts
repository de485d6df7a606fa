/**
 * The deliverable shown as it is written: the synthesis' text streamed into the run's thread
 * (chat.startStream / appendStream / stopStream). A stream expires about five minutes after it
 * starts, so it is stopped before then and carried on with updates. When the synthesis ends, the
 * draft becomes a one-line note and the final deliverable is posted through the outbox as usual;
 * where Slack refuses streams, nothing is shown live and nothing is lost. Best effort throughout.
 */
import type { ChatStreamer, WebClient } from '@slack/web-api';
import { draftDoneText, draftMessage } from '../../blocks/thread.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { partialStringField } from '../llm/partialJson.js';
import { updateScope } from './liveMessages.js';
import { postScope } from './outbox.js';
import type { RateGate } from './rateGate.js';

export interface DraftTarget {
  channelId: string;
  threadTs: string;
  /** A stream in a channel names its recipient, the requester, and their workspace. */
  teamId: string;
  userId: string;
}

/** Appends are Tier 4 and paced by FLUSH_MS alone; starting a stream is a post, closing it an update. */
export const STREAM_SCOPE = 'stream';
/** Appends are Tier 4; one every half second is plenty to read along. */
const FLUSH_MS = 500;
/** Slack ends a stream about five minutes after it starts: stop it before, and go on with updates. */
const STREAM_LIFETIME_MS = 4 * 60_000;
/** The draft stays one readable message; the final deliverable, posted after, holds everything. */
const MAX_DRAFT_CHARS = 10_000;

export class DraftStream {
  private streamer: ChatStreamer | null = null;
  private ts: string | null = null;
  private startedAt = 0;
  private sent = '';
  private latest = '';
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private dead = false;

  constructor(
    private readonly slack: WebClient,
    private readonly logger: Logger,
    private readonly target: DraftTarget,
    private readonly gate: RateGate,
    private readonly streamLifetimeMs = STREAM_LIFETIME_MS,
    /** Resolves once the thread's earlier posts have landed: the draft never overtakes them. */
    private readonly afterEarlierPosts: () => Promise<void> = async () => {},
    /** Holds the thread's later posts until `until` settles: the deliverable never overtakes the draft. */
    private readonly holdLaterPosts: (until: Promise<unknown>) => void = () => {},
  ) {}

  /**
   * Like finish, without waiting: the thread's later posts (the deliverable first) are held until
   * the draft is closed, so that the run goes on while the draft closes at Slack's pace.
   */
  close(written: boolean): void {
    const closed = this.finish(written).catch((error: unknown) =>
      this.logger.debug(`could not close the draft: ${describeError(error)}`),
    );
    this.holdLaterPosts(closed);
  }

  /** The tool call's arguments so far; the deliverable's text is read out of them. */
  update(partialArguments: string): void {
    const text = partialStringField(partialArguments, 'deliverable');
    if (text === null || this.dead) return;
    this.latest = text.slice(0, MAX_DRAFT_CHARS);
    if (!this.timer) this.timer = setTimeout(() => this.flushSoon(), this.ts ? FLUSH_MS : 0);
  }

  /** The synthesis ended (`written` false: it failed): the draft becomes a note; the deliverable follows. */
  async finish(written: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // What arrived since the last flush is shown before the draft closes.
    this.chain = this.chain.then(() => this.flush()).catch(() => undefined);
    await this.chain;
    if (this.timer) clearTimeout(this.timer);
    if (!this.ts) return;
    const note = draftDoneText(written);
    try {
      await this.gate.turn(updateScope());
      if (this.streamer) await this.streamer.stop();
    } catch (error) {
      this.logger.debug(`could not stop the draft stream: ${describeError(error)}`);
    }
    await this.gate.turn(updateScope());
    await this.slack.chat
      .update({ channel: this.target.channelId, ts: this.ts, text: note.text, blocks: note.blocks })
      .catch((error: unknown) => this.logger.debug(`could not close the draft: ${describeError(error)}`));
  }

  private flushSoon(): void {
    this.timer = null;
    this.chain = this.chain.then(() => this.flush()).catch(() => undefined);
  }

  private async flush(): Promise<void> {
    if (this.dead || this.latest.length <= this.sent.length) return;
    const text = this.latest;
    try {
      if (this.ts && !this.streamer) {
        // Past the stream's lifetime: the same message, updated.
        const draft = draftMessage(text);
        await this.gate.turn(updateScope());
        await this.slack.chat.update({
          channel: this.target.channelId,
          ts: this.ts,
          text: draft.text,
          blocks: draft.blocks,
        });
      } else if (this.ts && Date.now() - this.startedAt >= this.streamLifetimeMs) {
        await this.gate.turn(updateScope());
        await this.streamer!.stop({ markdown_text: text.slice(this.sent.length) });
        this.streamer = null;
      } else {
        await this.append(text.slice(this.sent.length));
      }
      this.sent = text;
    } catch (error) {
      // Refused (not allowed here, no recipient) or gone: stop trying; the final post does not depend on it.
      this.dead = true;
      this.logger.debug(`the deliverable is not streamed: ${describeError(error)}`);
    }
    if (!this.dead && this.latest.length > this.sent.length && !this.timer) {
      this.timer = setTimeout(() => this.flushSoon(), FLUSH_MS);
    }
  }

  private async append(delta: string): Promise<void> {
    // The stream's first call posts a message in the channel: it waits its turn like any post.
    if (!this.streamer) await this.afterEarlierPosts();
    await this.gate.turn(this.streamer ? STREAM_SCOPE : postScope(this.target.channelId));
    if (!this.streamer) {
      this.streamer = this.slack.chatStream({
        channel: this.target.channelId,
        thread_ts: this.target.threadTs,
        recipient_team_id: this.target.teamId,
        recipient_user_id: this.target.userId,
        buffer_size: 1,
      });
      this.startedAt = Date.now();
    }
    await this.streamer.append({ markdown_text: delta });
    this.ts ??= this.streamer.ts ?? null;
  }
}
