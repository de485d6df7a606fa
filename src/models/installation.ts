/**
 * The app's installation in one workspace (or, for an org-wide install, one Enterprise Grid
 * organization), as Slack's OAuth gave it: the bot token jobs call Slack with, who installed it
 * and when. Kept only with OAuth distribution (SLACK_CLIENT_ID); one workspace on SLACK_BOT_TOKEN
 * stores none.
 *
 * Not tenant-scoped, unlike every other model: it is what a workspace's requests and jobs are
 * authorized by, so it is read before any workspace is in scope.
 */
import type { Installation as SlackInstallation } from '@slack/bolt';
import mongoose, { Schema, type Types } from 'mongoose';

export interface InstallationDoc {
  _id: Types.ObjectId;
  /** `T:<team id>` for a workspace, `E:<enterprise id>` for an org-wide install: one document each. */
  key: string;
  teamId: string | null;
  enterpriseId: string | null;
  isEnterpriseInstall: boolean;
  /** Slack's installation as Bolt's InstallProvider stores it, bot token included. */
  installation: SlackInstallation;
  installedBy: string;
  installedAt: Date;
  updatedAt: Date;
}

const InstallationSchema = new Schema<InstallationDoc>({
  key: { type: String, required: true },
  teamId: { type: String, default: null },
  enterpriseId: { type: String, default: null },
  isEnterpriseInstall: { type: Boolean, default: false },
  installation: { type: Schema.Types.Mixed, required: true },
  installedBy: { type: String, required: true },
  installedAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
});
InstallationSchema.index({ key: 1 }, { unique: true });

export const Installation = mongoose.model<InstallationDoc>('Installation', InstallationSchema);

/** The key an installation is stored under. */
export function installationKey(scope: { teamId?: string | null; enterpriseId?: string | null }, orgWide: boolean) {
  return orgWide ? `E:${scope.enterpriseId ?? ''}` : `T:${scope.teamId ?? ''}`;
}
