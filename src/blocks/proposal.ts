/**
 * The proposal message: the plan people review, and the status board of its run. It always
 * carries every ticket's title and the current status in its blocks, because Slack keeps the
 * old blocks when an update changes only `text`.
 */
import type { KnownBlock, SectionBlock } from '@slack/types';
import type { Estimate } from '../engine/money/estimate.js';
import { roleKit } from '../engine/plan/choices.js';
import { topologicalOrder } from '../engine/plan/dag.js';
import type { OrchestrationId } from '../engine/plan/ids.js';
import { pausesForPeople } from '../engine/plan/materializer.js';
import type { Proposal, Role } from '../engine/plan/proposal.js';
import type { OrchestrationStatus } from '../engine/plan/status.js';
import { ActionIds, encodeControlValue } from './actionIds.js';
import { parentLine } from './afterRun.js';
import { ContextIds } from './contextIds.js';
import { type ContextSummary, contextLine } from './contextModal.js';
import { estimateText } from './estimate.js';
import { fallbackText, formatDuration, formatUsd, plain, safeMrkdwn } from './text.js';
import { dependencyList, dropConfirm, producesLine } from './ticketLines.js';

export { estimateText };

export interface ProposalView {
  /** Files and notes people added (Add context). */
  context?: ContextSummary | null;
  orchestrationId: OrchestrationId;
  revision: number;
  status: OrchestrationStatus;
  statusReason: string | null;
  /** Who cancelled it, when it was cancelled by a person. */
  cancelledBy?: string | null;
  requesterId: string;
  goal: string;
  proposal: Proposal;
  budget: { maxUsd: number; spentUsd: number };
  approvedBy: string | null;
  durationMs: number | null;
  /** Stopped by its budget: offer "Raise cap and continue". */
  budgetStop?: boolean;
  /** Cost and duration estimates, shown while the plan is under review. */
  estimate?: Estimate | null;
  /** Per ticket key, how its step stands, once a run exists. */
  ticketStates?: Record<string, string>;
  /** LLM_MODEL, named where a role runs on the default model. */
  defaultModel?: string;
  /** The run whose gaps this one follows up on. */
  parent?: { channelId: string; goal: string } | null;
}

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/**
 * Characters of block text shared by all role and ticket blocks: what keeps the largest plan,
 * each role's tools and model, confirm dialogs and button labels included, under the ~11k at
 * which Slack refuses a message.
 */
const ITEMS_BUDGET = 5000;
/** What each ticket that declares an output takes from the budget above, for its "Produces" line. */
const OUTPUT_LINE_SHARE = 80;

export const STATUS_LABELS: Record<OrchestrationStatus, string> = {
  planning: ':hourglass_flowing_sand: Planning…',
  proposed: ':memo: Proposed: awaiting approval',
  approved: ':white_check_mark: Approved → executing',
  executing: ':gear: Approved → executing',
  synthesizing: ':jigsaw: Synthesizing the deliverable',
  completed: ':tada: Completed',
  failed: ':x: Failed',
  cancelled: ':no_entry_sign: Cancelled',
};

const TICKET_STATE_ICONS: Record<string, string> = {
  pending: ':white_circle:',
  queued: ':white_circle:',
  running: ':large_blue_circle:',
  succeeded: ':large_green_circle:',
  failed: ':red_circle:',
  skipped: ':heavy_minus_sign:',
};

export function proposalMessage(view: ProposalView): SlackMessage {
  const { proposal: p } = view;
  const editable = view.status === 'proposed';
  const control = (target?: string) =>
    encodeControlValue({
      orchestrationId: view.orchestrationId,
      revision: view.revision,
      ...(target ? { target } : {}),
    });
  const roleTitle = new Map(p.roles.map((r) => [r.key, r.title]));
  const ticketTitle = new Map(p.tickets.map((t) => [t.key, t.title]));
  const blocks: KnownBlock[] = [];

  // Slack refuses a message past ~11k characters of block text: share a fixed budget among the
  // roles and tickets, so the largest plan still posts, with every title shown.
  // A ticket's "Produces" line comes out of the same budget.
  const withOutputs = p.tickets.filter((t) => t.output || t.uses?.length).length;
  const perItem = Math.max(
    160,
    Math.floor((ITEMS_BUDGET - withOutputs * OUTPUT_LINE_SHARE) / (p.roles.length + p.tickets.length)),
  );

  blocks.push({
    type: 'header',
    text: { type: 'plain_text', text: plain(`Orchestration: ${p.goal}`, 150), emoji: true },
  });
  blocks.push(section(`*Goal*\n${safeMrkdwn(p.goal, 700)}`));
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: statusLine(view) }] });
  if (view.parent) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: parentLine(view.parent) }] });
  if (view.statusReason && (view.status === 'failed' || view.status === 'cancelled')) {
    blocks.push(section(`*Why:* ${safeMrkdwn(view.statusReason, 600)}${byline(view.cancelledBy)}`));
  }
  blocks.push({ type: 'divider' });

  blocks.push(section(`*Roles* (${p.roles.length})`));
  for (const role of p.roles) {
    const head = `*${safeMrkdwn(role.title, Math.min(120, perItem / 4))}* \`${role.key}\`\n`;
    const kit = kitLine(role, view.defaultModel, Math.min(300, perItem / 6));
    let who: string;
    if (role.hire) {
      const skills = role.hire.skills.length
        ? `\nSkills: ${safeMrkdwn(role.hire.skills.join(', '), Math.min(400, perItem / 6))}`
        : '';
      const name = `_new hire_: *${safeMrkdwn(role.hire.name, 60)}*: `;
      const room = Math.max(40, perItem - head.length - name.length - skills.length - kit.length);
      who = `${name}${safeMrkdwn(role.hire.persona, Math.min(600, room))}${skills}`;
    } else {
      who = `_existing agent_: *${safeMrkdwn(role.existingAgent ?? '', 80)}*`;
    }
    const swap = editable && button(ActionIds.swapRole, 'Swap role', control(role.key));
    blocks.push(withAccessory(section(`${head}${who}${kit}`), swap));
  }

  blocks.push(section(`*Sub-tickets* (${p.tickets.length}), in dependency order`));
  const ordered = topologicalOrder(p.tickets);
  const numberOf = new Map(ordered.map((t, i) => [t.key, i + 1]));
  ordered.forEach((ticket, index) => {
    const state = view.ticketStates?.[ticket.key];
    const icon = state ? `${TICKET_STATE_ICONS[state] ?? ''} ` : '';
    const waits = ticket.dependsOn.length
      ? `waits for: ${dependencyList(ticket.dependsOn, numberOf, ticketTitle, Math.min(400, perItem / 4))}`
      : 'starts first';
    const head =
      `${icon}*${index + 1}. ${safeMrkdwn(ticket.title, Math.min(200, perItem / 2))}*\n` +
      `Role: ${safeMrkdwn(roleTitle.get(ticket.role) ?? ticket.role, 60)} · ${waits}${ticket.review ? ' · _people review it_' : ''}${state ? ` · _${state}_` : ''}` +
      producesLine(ticket, Math.min(500, perItem / 4));
    const room = Math.min(1500, perItem - head.length);
    const drop = editable && {
      ...button(ActionIds.dropTicket, 'Drop ticket', control(ticket.key)),
      confirm: dropConfirm(p, ticket.key, numberOf, ticketTitle),
    };
    blocks.push(withAccessory(section(room >= 40 ? `${head}\n${safeMrkdwn(ticket.description, room)}` : head), drop));
  });

  blocks.push({ type: 'divider' });
  const research = p.research.enabled
    ? `on, by ${safeMrkdwn(roleTitle.get(p.research.role ?? '') ?? p.research.role ?? '?', 120)}`
    : 'off';
  blocks.push(
    section(
      `*Research:* ${research}\n*Discussion:* ${discussionText(p)}\n` +
        `*Synthesis:* ${safeMrkdwn(roleTitle.get(p.synthesis.role) ?? p.synthesis.role, 120)}: ${safeMrkdwn(p.synthesis.prompt, 500)}\n` +
        `*Budget:* ${formatUsd(view.budget.maxUsd)} max, hard ceiling · spent so far ${formatUsd(view.budget.spentUsd)}` +
        (editable && view.estimate ? `\n${estimateText(view.estimate, view.budget.maxUsd)}` : '') +
        (view.context ? `\n${contextLine(view.context)}` : ''),
    ),
  );

  if (editable) {
    const value = control();
    blocks.push({
      type: 'actions',
      block_id: `controls:${view.revision}`,
      elements: [
        { ...button(ActionIds.approve, 'Approve', value), style: 'primary' },
        button(ActionIds.setBudget, 'Set budget', value),
        button(
          ActionIds.toggleDiscussion,
          p.discussion.enabled ? 'Discussion: turn off' : 'Discussion: turn on',
          value,
        ),
        button(ActionIds.toggleResearch, p.research.enabled ? 'Research: turn off' : 'Research: turn on', value),
        ...(p.discussion.enabled
          ? [button(ActionIds.togglePause, pausesForPeople(p) ? 'Weigh-in: turn off' : 'Weigh-in: turn on', value)]
          : []),
        button(ActionIds.reviewGates, 'Review gates', value),
        button(ActionIds.askAgain, 'Ask again', value),
        button(ActionIds.editOutputs, 'Edit outputs', value),
        button(ContextIds.open, 'Add context', value),
        cancelButton(value, 'Cancel this proposal?', 'Nothing will run and the proposal closes.'),
      ],
    });
  } else if (view.status === 'failed' && view.budgetStop) {
    blocks.push({ type: 'actions', block_id: 'budget_stop', elements: [raiseCapButton(control())] });
  } else if (view.status === 'approved' || view.status === 'executing' || view.status === 'synthesizing') {
    const value = control();
    blocks.push({
      type: 'actions',
      block_id: `running:${view.revision}`,
      elements: [
        cancelButton(
          value,
          'Cancel this run?',
          'Queued steps are removed and calls in flight are stopped. Spend so far stays spent.',
        ),
        button(ActionIds.saveTemplate, 'Save as template', value),
      ],
    });
  } else if (view.status === 'completed') {
    blocks.push({
      type: 'actions',
      block_id: `completed:${view.revision}`,
      elements: [button(ActionIds.saveTemplate, 'Save as template', control())],
    });
  }

  const text = `${STATUS_LABELS[view.status].replace(/:[a-z_]+: /, '')}: ${fallbackText(p.goal, 200)}`;
  return { text, blocks };
}

/** "Tools: web_search, web_fetch · Model: gpt-4o": what the role may call, and what it runs on. */
function kitLine(role: Role, defaultModel: string | undefined, max: number): string {
  const { tools, model } = roleKit(role);
  const fallback = defaultModel ? `default (${safeMrkdwn(defaultModel, Math.min(60, max))})` : 'default';
  const shown = tools.length ? safeMrkdwn(tools.join(', '), max) : 'none';
  return `\nTools: ${shown} · Model: ${model ? safeMrkdwn(model, Math.min(60, max)) : fallback}`;
}

function discussionText(p: Proposal): string {
  if (!p.discussion.enabled) return 'off';
  return pausesForPeople(p)
    ? 'on: each role states a position, then people weigh in'
    : 'on: each role states a position first';
}

function statusLine(view: ProposalView): string {
  const parts = [`*${STATUS_LABELS[view.status]}*`, `revision ${view.revision}`, `requested by <@${view.requesterId}>`];
  if (view.approvedBy) parts.push(`approved by <@${view.approvedBy}>`);
  parts.push(`spend ${formatUsd(view.budget.spentUsd)} of ${formatUsd(view.budget.maxUsd)}`);
  if (view.durationMs !== null) parts.push(`took ${formatDuration(view.durationMs)}`);
  return parts.join(' · ');
}

/** " by @someone", for a Slack user id only: anything else is left out rather than shown raw. */
function byline(userId: string | null | undefined): string {
  return userId && /^[UW][A-Z0-9]+$/.test(userId) ? ` by <@${userId}>` : '';
}

export function raiseCapButton(value: string) {
  return { ...button(ActionIds.raiseCap, 'Raise cap and continue', value), style: 'primary' as const };
}

function button(actionId: string, label: string, value: string) {
  return { type: 'button' as const, action_id: actionId, text: { type: 'plain_text' as const, text: label }, value };
}

function withAccessory(block: SectionBlock, accessory: SectionBlock['accessory'] | false): SectionBlock {
  return accessory ? { ...block, accessory } : block;
}

function section(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function cancelButton(value: string, title: string, body: string) {
  return {
    type: 'button' as const,
    action_id: ActionIds.cancel,
    text: { type: 'plain_text' as const, text: 'Cancel' },
    style: 'danger' as const,
    value,
    confirm: {
      title: { type: 'plain_text' as const, text: title },
      text: { type: 'plain_text' as const, text: body },
      confirm: { type: 'plain_text' as const, text: 'Yes, cancel' },
      deny: { type: 'plain_text' as const, text: 'Keep it' },
      style: 'danger' as const,
    },
  };
}
