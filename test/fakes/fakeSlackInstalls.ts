/**
 * Slack's side of OAuth distribution, for FakeSlack: the workspaces that will grant an install (the
 * code Slack's consent screen would hand back), `oauth.v2.access` exchanging that code for the
 * workspace's bot token, and `auth.test` answering for each token it gave.
 */

export interface FakeWorkspace {
  teamId: string;
  teamName: string;
  botToken: string;
  botUserId: string;
  /** Who clicked Allow. */
  installerId: string;
  enterpriseId?: string;
}

type Answer = Record<string, unknown>;

export class FakeSlackInstalls {
  private readonly codes = new Map<string, FakeWorkspace>();
  private readonly tokens = new Map<string, FakeWorkspace>();
  private readonly revoked = new Set<string>();
  /** The client id and secret oauth.v2.access takes; anything else is refused as Slack would. */
  constructor(private readonly client = { id: '1111.2222', secret: 'fake-client-secret' }) {}

  /** The consent screen was approved in `workspace`: `code` may be exchanged once. */
  grant(code: string, workspace: FakeWorkspace): void {
    this.codes.set(code, workspace);
  }

  access(args: Record<string, unknown>, basicAuth: string | null): Answer {
    const [id, secret] = basicAuth
      ? Buffer.from(basicAuth, 'base64').toString().split(':')
      : [String(args.client_id ?? ''), String(args.client_secret ?? '')];
    if (id !== this.client.id) return { ok: false, error: 'invalid_client_id' };
    if (secret !== this.client.secret) return { ok: false, error: 'bad_client_secret' };
    const workspace = this.codes.get(String(args.code ?? ''));
    if (!workspace) return { ok: false, error: 'invalid_code' };
    this.codes.delete(String(args.code));
    this.tokens.set(workspace.botToken, workspace);
    return {
      ok: true,
      app_id: 'AFAKE',
      authed_user: { id: workspace.installerId },
      scope: String(args.scope ?? 'commands,chat:write'),
      token_type: 'bot',
      access_token: workspace.botToken,
      bot_user_id: workspace.botUserId,
      team: { id: workspace.teamId, name: workspace.teamName },
      enterprise: workspace.enterpriseId ? { id: workspace.enterpriseId, name: 'Org' } : null,
      is_enterprise_install: false,
    };
  }

  /** auth.test for a token an install gave; null for any other token. */
  whoAmI(token: string | undefined): Answer | null {
    const workspace = token ? this.tokens.get(token) : undefined;
    if (!workspace) return null;
    return {
      ok: true,
      url: `https://${workspace.teamName.toLowerCase()}.fake.slack.com/`,
      team: workspace.teamName,
      user: 'orchestrate',
      team_id: workspace.teamId,
      user_id: workspace.botUserId,
      bot_id: `B${workspace.teamId}`,
      ...(workspace.enterpriseId ? { enterprise_id: workspace.enterpriseId } : {}),
    };
  }

  /** The token is revoked (an uninstall): Slack refuses every call made with it from now on. */
  revoke(token: string): void {
    this.tokens.delete(token);
    this.revoked.add(token);
  }

  refuses(token: string | undefined): boolean {
    return Boolean(token && this.revoked.has(token));
  }
}
