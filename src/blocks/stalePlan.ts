/**
 * The answer to a click on an older revision of a plan: what changed, and the current plan in
 * brief, so the clicker sees what they would now be approving without hunting for it.
 */
import type { KnownBlock } from '@slack/types';
import { topologicalOrder } from '../engine/plan/dag.js';
import type { Proposal } from '../engine/plan/proposal.js';
import type { SlackMessage } from './proposal.js';
import { formatUsd, safeMrkdwn } from './text.js';

export interface CurrentPlan {
  revision: number;
  proposal: Proposal;
  maxUsd: number;
  /** The latest entry of the revision history, when there is one. */
  lastChange: { change: string; by: string | null } | null;
}

export function staleText(clicked: number, current: number): string {
  return `This plan has changed since that button was drawn: you clicked revision ${clicked}, and the current one is revision ${current}, shown in the proposal message. Nothing was changed.`;
}

export function stalePlanMessage(clicked: number, plan: CurrentPlan): SlackMessage {
  const p = plan.proposal;
  const roleTitle = new Map(p.roles.map((r) => [r.key, r.title]));
  const ticketTitle = new Map(p.tickets.map((t) => [t.key, t.title]));
  const change = plan.lastChange
    ? ` Last change: ${safeMrkdwn(plan.lastChange.change, 300)}${plan.lastChange.by ? ` by <@${plan.lastChange.by}>` : ''}.`
    : '';
  const roles = p.roles.map(
    (r) =>
      `• *${safeMrkdwn(r.title, 100)}*: ${r.hire ? `new hire ${safeMrkdwn(r.hire.name, 60)}` : `existing agent ${safeMrkdwn(r.existingAgent ?? '', 60)}`}`,
  );
  const tickets = topologicalOrder(p.tickets).map((t, i) => {
    const waits = t.dependsOn.length
      ? ` · waits for ${safeMrkdwn(t.dependsOn.map((d) => ticketTitle.get(d) ?? d).join(', '), 200)}`
      : '';
    return `${i + 1}. ${safeMrkdwn(t.title, 120)} (${safeMrkdwn(roleTitle.get(t.role) ?? t.role, 60)})${waits}`;
  });
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `:arrows_counterclockwise: *This plan has changed.* You clicked revision ${clicked}; the current one is *revision ${plan.revision}*. Nothing was changed.${change}`,
      },
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*The current plan*\n*Roles*\n${fitLines(roles, 2800)}` } },
    { type: 'section', text: { type: 'mrkdwn', text: `*Sub-tickets*\n${fitLines(tickets, 2800)}` } },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `Research ${p.research.enabled ? 'on' : 'off'} · discussion ${p.discussion.enabled ? 'on' : 'off'} · budget ${formatUsd(plan.maxUsd)} max. Review it in the proposal message, whose buttons are current.`,
        },
      ],
    },
  ];
  return { text: staleText(clicked, plan.revision), blocks };
}

/** Joins whole lines up to `max` characters, saying how many did not fit (section text is capped at 3000). */
function fitLines(lines: string[], max: number): string {
  const kept: string[] = [];
  let length = 0;
  for (const [i, line] of lines.entries()) {
    const more = `…and ${lines.length - i} more`;
    if (length + line.length + 1 + more.length > max) return [...kept, more].join('\n');
    kept.push(line);
    length += line.length + 1;
  }
  return kept.join('\n');
}
