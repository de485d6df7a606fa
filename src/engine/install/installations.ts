/**
 * Where each workspace's installation is kept with OAuth distribution: Bolt's InstallationStore on
 * MongoDB (the OAuth redirect stores, every request's authorization fetches), and the bot token a
 * job uses for its workspace, since a job has no request to be authorized by.
 */
import type { InstallationQuery, InstallationStore, Installation as SlackInstallation } from '@slack/bolt';
import { NotInstalledError } from '../../errors.js';
import { Installation, type InstallationDoc, installationKey } from '../../models/installation.js';
import { Workspace } from '../../models/workspace.js';
import { type Tenant, withTenant } from '../../tenant.js';

/** How long a looked-up token is trusted; an uninstall forgets it at once in this process. */
const TOKEN_TTL_MS = 60_000;

export class Installations implements InstallationStore {
  private readonly tokens = new Map<string, { token: string; until: number }>();

  async storeInstallation(installation: SlackInstallation): Promise<void> {
    const orgWide = Boolean(installation.isEnterpriseInstall);
    const teamId = installation.team?.id ?? null;
    const enterpriseId = installation.enterprise?.id ?? null;
    const key = installationKey({ teamId, enterpriseId }, orgWide);
    const now = new Date();
    await Installation.updateOne(
      { key },
      {
        $set: { teamId, enterpriseId, isEnterpriseInstall: orgWide, installation, installedBy: installation.user.id },
        $setOnInsert: { installedAt: now },
        $currentDate: { updatedAt: true },
      },
      { upsert: true },
    );
    this.tokens.clear();
    // Whoever installs the app may approve in their workspace from the start; they name others (/orchestrate approvers).
    if (teamId && !orgWide) {
      await withTenant({ teamId, enterpriseId }, async () => {
        await Workspace.updateOne({}, { $addToSet: { approvers: installation.user.id } }, { upsert: true });
      });
    }
  }

  async fetchInstallation(query: InstallationQuery<boolean>): Promise<SlackInstallation> {
    const doc = await this.find(query);
    if (!doc) throw new NotInstalledError(describe(query));
    return doc.installation;
  }

  async deleteInstallation(query: InstallationQuery<boolean>): Promise<void> {
    const doc = await this.find(query);
    if (doc) await Installation.deleteOne({ _id: doc._id });
    this.tokens.clear();
  }

  /** The bot token of the workspace `tenant`, from its own install or its organization's. */
  async botTokenFor(tenant: Tenant): Promise<string> {
    const cacheKey = `${tenant.enterpriseId ?? ''}:${tenant.teamId}`;
    const cached = this.tokens.get(cacheKey);
    if (cached && cached.until > Date.now()) return cached.token;
    const doc = await this.find({ teamId: tenant.teamId, enterpriseId: tenant.enterpriseId ?? undefined });
    const token = doc?.installation.bot?.token;
    if (!token) throw new NotInstalledError(describe({ teamId: tenant.teamId, enterpriseId: tenant.enterpriseId }));
    this.tokens.set(cacheKey, { token, until: Date.now() + TOKEN_TTL_MS });
    return token;
  }

  private async find(query: {
    teamId?: string | undefined;
    enterpriseId?: string | undefined;
    isEnterpriseInstall?: boolean;
  }): Promise<InstallationDoc | null> {
    // A workspace of an organization that installed org-wide has no install of its own.
    const keys = [
      ...(query.isEnterpriseInstall ? [] : [installationKey(query, false)]),
      ...(query.enterpriseId ? [installationKey(query, true)] : []),
    ];
    const docs = await Installation.find({ key: { $in: keys } }).lean<InstallationDoc[]>();
    return keys.map((k) => docs.find((d) => d.key === k)).find(Boolean) ?? null;
  }
}

function describe(query: { teamId?: string | null | undefined; enterpriseId?: string | null | undefined }): string {
  return query.teamId ? `workspace ${query.teamId}` : `organization ${query.enterpriseId ?? '(none named)'}`;
}
