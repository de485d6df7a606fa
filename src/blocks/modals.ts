/**
 * Modals for reviewing a proposal: swap a role (its agent, tools and model), set the budget cap,
 * ask the CEO agent again.
 * Each carries the orchestration id, the revision it was opened for and its target in
 * private_metadata, so a submission against a changed plan is recognised as stale.
 */
import type { KnownBlock, ModalView, PlainTextOption } from '@slack/types';
import { type PlanChoices, roleKit } from '../engine/plan/choices.js';
import type { Role } from '../engine/plan/proposal.js';
import { type ControlValue, encodeControlValue, InputIds, ViewIds } from './actionIds.js';
import { formatUsd, plain, safeMrkdwn } from './text.js';

const text = (t: string) => ({ type: 'plain_text' as const, text: t });

export interface RosterOption {
  name: string;
  title: string;
}

/**
 * The select's first option: a static_select cannot be emptied once something is chosen, so
 * "hire instead" must be an option of its own, or a role once given a roster agent could never
 * go back to being a hire.
 */
export const NEW_HIRE_OPTION_VALUE = 'orchestrate:new-hire';

/** Slack's most options in a select, and longest option value. */
const MAX_OPTIONS = 100;
const MAX_VALUE = 150;

export function swapRoleModal(meta: ControlValue, role: Role, roster: RosterOption[], choices: PlanChoices): ModalView {
  const hireOption: PlainTextOption = { text: text('A new hire (describe below)'), value: NEW_HIRE_OPTION_VALUE };
  const options: PlainTextOption[] = [
    hireOption,
    ...roster
      .slice(0, 99)
      .map((a) => ({ text: text(plain(`${a.name}: ${a.title}`, 75)), value: a.name.slice(0, 150) })),
  ];
  const current = role.existingAgent
    ? options.find((o) => o.value?.toLowerCase() === role.existingAgent!.toLowerCase())
    : hireOption;
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*${safeMrkdwn(role.title, 200)}*
Pick an agent from the roster, *or* choose _A new hire_ and describe it below.`,
      },
    },
  ];
  if (roster.length) {
    blocks.push({
      type: 'input',
      block_id: InputIds.rosterAgent.block,
      label: text('Who takes this role'),
      element: {
        type: 'static_select',
        action_id: InputIds.rosterAgent.action,
        placeholder: text('Choose an agent'),
        options,
        ...(current ? { initial_option: current } : {}),
      },
    });
  } else {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: 'The roster is empty: this role can only be a new hire.' }],
    });
  }
  blocks.push(
    {
      type: 'input',
      block_id: InputIds.hireName.block,
      optional: true,
      label: text('New hire: name'),
      element: {
        type: 'plain_text_input',
        action_id: InputIds.hireName.action,
        max_length: 80,
        ...(role.hire ? { initial_value: role.hire.name } : {}),
      },
    },
    {
      type: 'input',
      block_id: InputIds.hirePersona.block,
      optional: true,
      label: text('New hire: persona'),
      element: {
        type: 'plain_text_input',
        action_id: InputIds.hirePersona.action,
        multiline: true,
        max_length: 2000,
        ...(role.hire ? { initial_value: role.hire.persona } : {}),
      },
    },
    {
      type: 'input',
      block_id: InputIds.hireSkills.block,
      optional: true,
      label: text('New hire: skills (comma-separated)'),
      element: {
        type: 'plain_text_input',
        action_id: InputIds.hireSkills.action,
        max_length: 1000,
        ...(role.hire?.skills.length ? { initial_value: role.hire.skills.join(', ') } : {}),
      },
    },
    ...kitBlocks(role, choices),
  );
  return {
    type: 'modal',
    callback_id: ViewIds.swapRole,
    private_metadata: encodeControlValue(meta),
    title: text('Swap role'),
    submit: text('Save'),
    close: text('Cancel'),
    blocks,
  };
}

const note = (t: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text: t }] });
const list = (names: string[]) => safeMrkdwn(names.join(', '), 500);

/**
 * The role's tools (any of those that exist) and model (one of those people may pick). A tool or
 * model the role names that is no longer offered cannot be drawn as chosen, so it is named and
 * saving drops it, rather than dropping it unseen.
 */
function kitBlocks(role: Role, choices: PlanChoices): KnownBlock[] {
  const kit = roleKit(role);
  const blocks: KnownBlock[] = [];
  const offered = choices.tools.filter((t) => t.name.length <= MAX_VALUE);
  const names = new Set(offered.map((t) => t.name));
  // The role's own tools first, so that they are among the options Slack shows as chosen.
  const tools = [
    ...offered.filter((t) => kit.tools.includes(t.name)),
    ...offered.filter((t) => !kit.tools.includes(t.name)),
  ]
    .slice(0, MAX_OPTIONS)
    .map((t) => ({
      text: text(plain(t.name, 75)),
      value: t.name,
      ...(t.summary.trim() ? { description: text(plain(t.summary, 75)) } : {}),
    }));
  const chosen = tools.filter((o) => kit.tools.includes(o.value));
  if (tools.length) {
    blocks.push({
      type: 'input',
      block_id: InputIds.roleTools.block,
      optional: true,
      label: text('Tools this role may use'),
      element: {
        type: 'multi_static_select',
        action_id: InputIds.roleTools.action,
        placeholder: text('No tools'),
        options: tools,
        ...(chosen.length ? { initial_options: chosen } : {}),
      },
    });
  } else {
    blocks.push(note('No tools are configured: this role works from its prompt alone.'));
  }
  const gone = kit.tools.filter((t) => !names.has(t));
  if (gone.length) blocks.push(note(`Not available any more, and dropped when you save: ${list(gone)}`));

  const models = choices.models.filter((m) => m.length <= MAX_VALUE).slice(0, MAX_OPTIONS);
  const modelOptions = models.map((m, i) => ({ text: text(plain(i === 0 ? `${m} (default)` : m, 75)), value: m }));
  const current = modelOptions.find((o) => o.value === kit.model) ?? modelOptions[0];
  if (modelOptions.length > 1) {
    blocks.push({
      type: 'input',
      block_id: InputIds.roleModel.block,
      label: text('Model'),
      element: {
        type: 'static_select',
        action_id: InputIds.roleModel.action,
        options: modelOptions,
        ...(current ? { initial_option: current } : {}),
      },
    });
  } else if (models[0]) {
    blocks.push(
      note(`Model: ${safeMrkdwn(models[0], 150)}, the only one configured (ORCHESTRATE_MODELS adds others).`),
    );
  }
  if (kit.model && !models.includes(kit.model)) {
    blocks.push(note(`${list([kit.model])} is not offered any more: saving puts this role on the default model.`));
  }
  return blocks;
}

export function budgetModal(meta: ControlValue, currentUsd: number, ceilingUsd: number, spentUsd: number): ModalView {
  return {
    type: 'modal',
    callback_id: ViewIds.setBudget,
    private_metadata: encodeControlValue(meta),
    title: text('Budget cap'),
    submit: text('Save'),
    close: text('Cancel'),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `The cap is a hard ceiling: no LLM call starts that could pass it. Now ${formatUsd(currentUsd)}; at most ${formatUsd(ceilingUsd)}; already spent on planning ${formatUsd(spentUsd)}.`,
        },
      },
      {
        type: 'input',
        block_id: InputIds.budget.block,
        label: text('Maximum spend in USD'),
        element: {
          type: 'plain_text_input',
          action_id: InputIds.budget.action,
          initial_value: currentUsd.toFixed(2),
          max_length: 12,
        },
      },
    ],
  };
}

export function askAgainModal(meta: ControlValue): ModalView {
  return {
    type: 'modal',
    callback_id: ViewIds.askAgain,
    private_metadata: encodeControlValue(meta),
    title: text('Ask again'),
    submit: text('Ask'),
    close: text('Cancel'),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: 'The CEO agent will plan the same goal again. Its new plan becomes the next revision.',
        },
      },
      {
        type: 'input',
        block_id: InputIds.note.block,
        optional: true,
        label: text('Note for the CEO agent'),
        element: {
          type: 'plain_text_input',
          action_id: InputIds.note.action,
          multiline: true,
          max_length: 1500,
          placeholder: text('e.g. Fewer tickets; no research'),
        },
      },
    ],
  };
}

export function raiseCapModal(meta: ControlValue, currentUsd: number, ceilingUsd: number, spentUsd: number): ModalView {
  return {
    type: 'modal',
    callback_id: ViewIds.raiseCap,
    private_metadata: encodeControlValue(meta),
    title: text('Raise the cap'),
    submit: text('Continue the run'),
    close: text('Cancel'),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `The run stopped at its cap: ${formatUsd(spentUsd)} spent of ${formatUsd(currentUsd)}. With a higher cap it continues where it stopped; finished steps are kept, never re-run. At most ${formatUsd(ceilingUsd)}.`,
        },
      },
      {
        type: 'input',
        block_id: InputIds.budget.block,
        label: text('New cap in USD'),
        element: {
          type: 'plain_text_input',
          action_id: InputIds.budget.action,
          initial_value: Math.min(ceilingUsd, currentUsd * 2).toFixed(2),
          max_length: 12,
        },
      },
    ],
  };
}
