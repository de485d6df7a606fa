/**
 * The thread's loading status while steps run ("Ada is working on Map the competitors…"): a hint,
 * not a record, so it is best effort, throttled per thread, and never retried.
 */
import type { WebClient } from '@slack/web-api';
import { plain } from '../../blocks/text.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { RateGate } from './rateGate.js';

/** Slack clears a status after two minutes or at the thread's next message; more often than this is noise. */
const MIN_INTERVAL_MS = 3000;
/** Slack shows at most this many loading messages. */
const MAX_LOADING_MESSAGES = 10;

export class ThreadStatus {
  private readonly lastAt = new Map<string, number>();
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly slack: WebClient,
    private readonly gate: RateGate,
    private readonly logger: Logger,
    /** Resolves when the engine's critical path leaves room. */
    private readonly quiet: () => Promise<void> = async () => {},
  ) {}

  show(channelId: string, threadTs: string, working: { agent: string; title: string }[]): void {
    if (!working.length) return;
    const key = `${channelId}:${threadTs}`;
    const wait = (this.lastAt.get(key) ?? 0) + MIN_INTERVAL_MS - Date.now();
    clearTimeout(this.pending.get(key));
    const send = () => {
      this.pending.delete(key);
      this.lastAt.set(key, Date.now());
      void this.send(channelId, threadTs, working);
    };
    if (wait <= 0) send();
    else this.pending.set(key, setTimeout(send, wait));
  }

  private async send(channelId: string, threadTs: string, working: { agent: string; title: string }[]): Promise<void> {
    const lines = working.map((w) => plain(`${w.agent} is working on ${w.title}…`, 120));
    try {
      await this.quiet();
      await this.gate.turn('status');
      await this.slack.assistant.threads.setStatus({
        channel_id: channelId,
        thread_ts: threadTs,
        status: lines[0]!,
        ...(lines.length > 1 ? { loading_messages: lines.slice(0, MAX_LOADING_MESSAGES) } : {}),
      });
    } catch (error) {
      this.logger.debug(`could not set the thread's status: ${describeError(error)}`);
    }
  }
}
