/**
 * Slack telling the app it left a workspace: `app_uninstalled`, and `tokens_revoked` when the bot's
 * token is among those revoked (a user token revoked alone changes nothing: the app keeps none).
 */
import type { App } from '@slack/bolt';
import { appLeftWorkspace, type LeavingReason } from '../engine/usecases/installs.js';
import { describeError } from '../errors.js';
import type { Services } from '../services.js';

export function register(app: App, services: Services): void {
  const leave = async (why: LeavingReason) => {
    try {
      await appLeftWorkspace(services, why);
    } catch (error) {
      // Bolt acked the event already; the operator must finish by hand what the log names.
      services.logger.error(`could not close the workspace the app left (${why}): ${describeError(error)}`);
    }
  };
  app.event('app_uninstalled', () => leave('uninstalled'));
  app.event('tokens_revoked', async ({ event }) => {
    if ((event.tokens.bot ?? []).length > 0) await leave('tokens_revoked');
  });
}
