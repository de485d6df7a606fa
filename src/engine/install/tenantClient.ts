/**
 * A Slack Web API client that calls as the workspace in scope (src/tenant.ts): each call carries
 * that workspace's bot token. The engine's clients are built once at start and serve every
 * workspace; with one workspace the token is the configured one, with OAuth its installation's.
 */
import { WebClient, type WebClientOptions } from '@slack/web-api';
import { TenantScopeError } from '../../errors.js';
import { currentTenant, type Tenant } from '../../tenant.js';

export type BotTokenSource = (tenant: Tenant) => Promise<string>;

export class TenantWebClient extends WebClient {
  constructor(
    private readonly tokenFor: BotTokenSource,
    options: WebClientOptions,
  ) {
    super(undefined, options);
  }

  override async apiCall(method: string, options: Record<string, unknown> = {}) {
    if (options.token) return super.apiCall(method, options);
    const tenant = currentTenant();
    // A call outside any workspace would be a sweep that forgot to enter its document's.
    if (!tenant) throw new TenantScopeError(`Slack's ${method} was called outside any workspace`);
    return super.apiCall(method, { ...options, token: await this.tokenFor(tenant) });
  }
}

/** The engine's client: one fixed token (one workspace), or the token of the workspace in scope (OAuth). */
export function engineClient(fixedToken: string | null, tokenFor: BotTokenSource, options: WebClientOptions) {
  return fixedToken ? new WebClient(fixedToken, options) : new TenantWebClient(tokenFor, options);
}
