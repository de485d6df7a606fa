/**
 * Builds the Bolt App and registers its listeners; nothing else. Socket Mode when an app-level
 * token is configured, HTTP (POST /slack/events, GET /healthz, and with OAuth GET /slack/install and
 * /slack/oauth_redirect) otherwise.
 */
import { App, type CustomRoute, type InstallationStore, LogLevel } from '@slack/bolt';
import type { Config } from './config.js';
import * as actions from './handlers/actions.js';
import * as agents from './handlers/agents.js';
import * as approvers from './handlers/approvers.js';
import * as commands from './handlers/commands.js';
import * as home from './handlers/home.js';
import * as installs from './handlers/installs.js';
import * as messages from './handlers/messages.js';
import * as schedules from './handlers/schedules.js';
import * as views from './handlers/views.js';
import type { Logger } from './logger.js';
import { oauthReceiverOptions } from './oauth.js';
import { slackReceiver } from './requestLimits.js';
import type { Services } from './services.js';
import type { BotIdentity } from './slackIdentity.js';
import { tenantFromSlack, withTenant } from './tenant.js';

export interface AppOptions {
  config: Config;
  logger: Logger;
  /** The bot's identity from auth.test at start, or null when Slack could not be reached. */
  identity: BotIdentity | null;
  /** Answers GET /healthz: 200 once the app is ready to take work. */
  isReady: () => boolean;
  /** More HTTP routes (the operators' dashboard), served beside Slack's in HTTP mode. */
  extraRoutes?: CustomRoute[];
  /** With OAuth: where installations are kept; every request is authorized from them. */
  installationStore?: InstallationStore;
}

export function buildApp(options: AppOptions): App {
  const { config, logger, identity, isReady, extraRoutes = [], installationStore } = options;
  const { botToken, oauth } = config.slack;
  const common = {
    // One workspace: its token, and its identity. Known identity means Bolt makes no auth.test of
    // its own; unknown (Slack unreachable at start) stays empty rather than undefined, for the same
    // reason. With OAuth, Bolt authorizes each request from its workspace's installation.
    ...(botToken ? { token: botToken, botId: identity?.botId ?? '', botUserId: identity?.botUserId ?? '' } : {}),
    signingSecret: config.slack.signingSecret,
    logger,
    logLevel: LogLevel[config.logLevel.toUpperCase() as 'INFO'],
    clientOptions: { slackApiUrl: config.slack.apiUrl },
  };
  if (config.slack.appToken) {
    return new App({
      ...common,
      socketMode: true,
      appToken: config.slack.appToken,
      // The Socket Mode client writes its own retry policy (100 retries) into the clientOptions it is
      // given; without an object of its own, every listener's client would inherit it.
      installerOptions: { clientOptions: { slackApiUrl: config.slack.apiUrl } },
    });
  }
  return new App({
    ...common,
    receiver: slackReceiver({
      signingSecret: config.slack.signingSecret,
      logger,
      logLevel: common.logLevel,
      ...(oauth && installationStore
        ? { oauth: oauthReceiverOptions(oauth, config.slack.apiUrl, installationStore) }
        : {}),
      customRoutes: [
        {
          path: '/healthz',
          method: ['GET'],
          handler: (_req, res) => {
            const ready = isReady();
            res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ ok: ready }));
          },
        },
        ...extraRoutes,
      ],
    }),
  });
}

export function registerListeners(app: App, services: Services): void {
  // Before every listener: all that a request leads to, however deep, works as its workspace.
  app.use(({ context, next }) => withTenant(tenantFromSlack(context), next));
  commands.register(app, services);
  actions.register(app, services);
  views.register(app, services);
  home.register(app, services);
  agents.register(app, services);
  approvers.register(app, services);
  messages.register(app, services);
  schedules.register(app, services);
  installs.register(app, services);
}
