/**
 * Notes only one person sees: through the response_url of their command or click, which reaches
 * them where chat.postEphemeral cannot (a public channel the bot has not joined), or else as an
 * ephemeral message.
 */
import type { WebClient } from '@slack/web-api';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';

export class Notes {
  constructor(
    private readonly slack: WebClient,
    private readonly logger: Logger,
  ) {}

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

  async tell(channelId: string, user: string, responseUrl: string | null | undefined, text: string): Promise<void> {
    if (await this.respond(responseUrl ?? null, text)) return;
    await this.slack.chat
      .postEphemeral({ channel: channelId, user, text })
      .catch((error: unknown) => this.logger.warn(`could not post an ephemeral note: ${describeError(error)}`));
  }
}
