/**
 * Who may act on an orchestration: its requester and the configured approvers. The bot itself
 * never may, so no message, workflow or echo of its own can approve a plan.
 */
export type RightsDecision = { allowed: true } | { allowed: false; reason: string };

export function mayAct(
  userId: string,
  requesterId: string,
  approvers: readonly string[],
  botUserId: string | undefined,
): RightsDecision {
  if (botUserId && userId === botUserId) return { allowed: false, reason: 'The bot cannot act on its own proposals.' };
  if (userId === requesterId || approvers.includes(userId)) return { allowed: true };
  return {
    allowed: false,
    reason: `Only <@${requesterId}> (who asked for this) or an approver can do that. Nothing was changed.`,
  };
}
