/**
 * Every action_id and view callback_id the app uses, in one place, so the builders that draw a
 * control and the handlers that answer it can never disagree.
 */
export const ActionIds = {
  approve: 'orchestrate.approve',
  cancel: 'orchestrate.cancel',
  swapRole: 'proposal.swap_role',
  dropTicket: 'proposal.drop_ticket',
  setBudget: 'proposal.set_budget',
  toggleDiscussion: 'proposal.toggle_discussion',
  toggleResearch: 'proposal.toggle_research',
  askAgain: 'proposal.ask_again',
  raiseCap: 'run.raise_cap',
} as const;

export const ViewIds = {
  swapRole: 'proposal.swap_role.modal',
  setBudget: 'proposal.set_budget.modal',
  askAgain: 'proposal.ask_again.modal',
  raiseCap: 'run.raise_cap.modal',
} as const;

/** block_id / action_id pairs of modal inputs, read back from view.state.values. */
export const InputIds = {
  rosterAgent: { block: 'roster_agent', action: 'roster_agent_select' },
  hireName: { block: 'hire_name', action: 'hire_name_input' },
  hirePersona: { block: 'hire_persona', action: 'hire_persona_input' },
  hireSkills: { block: 'hire_skills', action: 'hire_skills_input' },
  budget: { block: 'budget_max', action: 'budget_max_input' },
  note: { block: 'ask_again_note', action: 'ask_again_note_input' },
} as const;

export type ActionId = (typeof ActionIds)[keyof typeof ActionIds];

/**
 * What a control carries in its `value` (or a modal in its private_metadata): the orchestration,
 * the revision it was drawn for, a target, and for a modal opened by a click, that click's
 * response_url, so the outcome of the submission can reach the clicker.
 */
export interface ControlValue {
  o: string;
  r: number;
  k?: string;
  u?: string;
}

export function encodeControlValue(value: ControlValue): string {
  return JSON.stringify(value);
}

export function decodeControlValue(raw: string | undefined): ControlValue | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<ControlValue>;
    if (typeof v.o !== 'string' || !/^[a-f0-9]{24}$/.test(v.o) || typeof v.r !== 'number') return null;
    const u = typeof v.u === 'string' && /^https?:\/\//.test(v.u) && v.u.length <= 1000 ? { u: v.u } : {};
    return { o: v.o, r: v.r, ...(typeof v.k === 'string' ? { k: v.k } : {}), ...u };
  } catch {
    return null;
  }
}
