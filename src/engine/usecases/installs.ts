/**
 * The app leaving a workspace: uninstalled, or its bot token revoked. Its installation is forgotten
 * (jobs can no longer find a token for it), its open orchestrations end as cancelled with the reason,
 * and its schedules pause. Runs as that workspace (the event's), so nothing of another is touched.
 */
import type { Services } from '../../services.js';
import { currentTenant } from '../../tenant.js';
import { pauseWorkspaceSchedules } from '../templates/schedules.js';

export type LeavingReason = 'uninstalled' | 'tokens_revoked';

const REASONS: Record<LeavingReason, string> = {
  uninstalled: 'Orchestrate was uninstalled from this workspace.',
  tokens_revoked: "Orchestrate's access to this workspace was revoked.",
};

export interface Leaving {
  cancelled: number;
  pausedSchedules: number;
}

export async function appLeftWorkspace(services: Services, why: LeavingReason): Promise<Leaving | null> {
  const tenant = currentTenant();
  if (!tenant?.teamId) return null;
  // Forgotten first: whatever the cancels below set off finds no token rather than calling Slack.
  await services.installations?.deleteInstallation({
    teamId: tenant.teamId,
    enterpriseId: tenant.enterpriseId ?? undefined,
    isEnterpriseInstall: false,
  });
  const cancelled = await services.engine.cancelAllInWorkspace(REASONS[why]);
  const pausedSchedules = await pauseWorkspaceSchedules();
  services.logger.info(
    `${why === 'uninstalled' ? 'uninstalled from' : 'token revoked in'} workspace ${tenant.teamId}: ${cancelled} open orchestration(s) cancelled, ${pausedSchedules} schedule(s) paused`,
  );
  return { cancelled, pausedSchedules };
}
