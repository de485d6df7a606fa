/**
 * What OAuth distribution (SLACK_CLIENT_ID) gives Bolt's HTTP receiver: the install and redirect
 * paths, the bot scopes asked for (the manifest's, which a test keeps equal), and the store
 * installations are kept in. Bolt's InstallProvider does the OAuth exchange and signs the state.
 */
import type { HTTPReceiverOptions, InstallationStore } from '@slack/bolt';
import type { Config } from './config.js';

export const INSTALL_PATH = '/slack/install';
export const REDIRECT_PATH = '/slack/oauth_redirect';

/** The bot scopes of manifest.yml, in its order. */
export const BOT_SCOPES = [
  'commands',
  'chat:write',
  'chat:write.public',
  'channels:history',
  'groups:history',
  'reactions:write',
  'app_mentions:read',
  'files:read',
  'files:write',
  'canvases:write',
];

type OAuthReceiverOptions = Pick<
  HTTPReceiverOptions,
  'clientId' | 'clientSecret' | 'stateSecret' | 'scopes' | 'installationStore' | 'installerOptions'
>;

export function oauthReceiverOptions(
  oauth: NonNullable<Config['slack']['oauth']>,
  apiUrl: string,
  installationStore: InstallationStore,
): OAuthReceiverOptions {
  return {
    clientId: oauth.clientId,
    clientSecret: oauth.clientSecret,
    stateSecret: oauth.stateSecret,
    scopes: BOT_SCOPES,
    installationStore,
    installerOptions: {
      installPath: INSTALL_PATH,
      redirectUriPath: REDIRECT_PATH,
      // oauth.v2.access and the auth.test after it go where every other call goes (GovSlack, tests).
      clientOptions: { slackApiUrl: apiUrl },
      // The install page links to Slack's consent screen rather than redirecting at once: a link
      // preview or a prefetch must not start an install with its own state cookie.
      directInstall: false,
    },
  };
}
