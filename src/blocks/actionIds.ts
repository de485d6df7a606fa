/**
 * Every action_id and view callback_id the app uses, in one place, so the builders that draw a
 * control and the handlers that answer it can never disagree.
 */
import { type OrchestrationId, parseOrchestrationId } from '../engine/plan/ids.js';

export const ActionIds = {
  approve: 'orchestrate.approve',
  cancel: 'orchestrate.cancel',
  swapRole: 'proposal.swap_role',
  dropTicket: 'proposal.drop_ticket',
  setBudget: 'proposal.set_budget',
  toggleDiscussion: 'proposal.toggle_discussion',
  toggleResearch: 'proposal.toggle_research',
  askAgain: 'proposal.ask_again',
  editOutputs: 'proposal.edit_outputs',
  reviewGates: 'proposal.review_gates',
  togglePause: 'proposal.toggle_pause_for_people',
  answerQuestions: 'plan.answer_questions',
  skipQuestions: 'plan.skip_questions',
  startWork: 'run.start_work',
  pauseRun: 'run.pause',
  resumeRun: 'run.resume',
  acceptResult: 'run.accept_result',
  reworkResult: 'run.rework_result',
  editResult: 'run.edit_result',
  rerunStep: 'run.rerun_step',
  rerunDependents: 'run.rerun_dependents',
  keepDependents: 'run.keep_dependents',
  followUp: 'run.follow_up',
  saveTemplate: 'run.save_template',
  scheduleTemplate: 'home.schedule_template',
  pauseSchedule: 'home.pause_schedule',
  resumeSchedule: 'home.resume_schedule',
  deleteSchedule: 'home.delete_schedule',
  raiseCap: 'run.raise_cap',
  /** The thumbs under the deliverable (one feedback_buttons element). */
  rateDeliverable: 'run.rate_deliverable',
  /** App Home: open a run's detail modal. */
  openRunDetail: 'home.open_run_detail',
} as const;

export const ViewIds = {
  swapRole: 'proposal.swap_role.modal',
  setBudget: 'proposal.set_budget.modal',
  askAgain: 'proposal.ask_again.modal',
  editOutputs: 'proposal.edit_outputs.modal',
  reviewGates: 'proposal.review_gates.modal',
  answerQuestions: 'plan.answer_questions.modal',
  reworkResult: 'run.rework_result.modal',
  rerunStep: 'run.rerun_step.modal',
  followUp: 'run.follow_up.modal',
  saveTemplate: 'run.save_template.modal',
  schedule: 'home.schedule.modal',
  editResult: 'run.edit_result.modal',
  raiseCap: 'run.raise_cap.modal',
  runDetail: 'home.run_detail.modal',
} as const;

/** block_id / action_id pairs of modal inputs, read back from view.state.values. */
export const InputIds = {
  rosterAgent: { block: 'roster_agent', action: 'roster_agent_select' },
  hireName: { block: 'hire_name', action: 'hire_name_input' },
  hirePersona: { block: 'hire_persona', action: 'hire_persona_input' },
  hireSkills: { block: 'hire_skills', action: 'hire_skills_input' },
  roleTools: { block: 'role_tools', action: 'role_tools_select' },
  roleModel: { block: 'role_model', action: 'role_model_select' },
  budget: { block: 'budget_max', action: 'budget_max_input' },
  note: { block: 'ask_again_note', action: 'ask_again_note_input' },
  reviewGates: { block: 'review_gates', action: 'review_gates_select' },
  feedback: { block: 'rework_feedback', action: 'rework_feedback_input' },
  gaps: { block: 'follow_up_gaps', action: 'follow_up_gaps_input' },
  templateName: { block: 'template_name', action: 'template_name_input' },
  templateDescription: { block: 'template_description', action: 'template_description_input' },
  templateParams: { block: 'template_params', action: 'template_params_input' },
  resultText: { block: 'result_text', action: 'result_text_input' },
} as const;

export type ActionId = (typeof ActionIds)[keyof typeof ActionIds];

/**
 * What a control carries in its `value` (or a modal in its private_metadata): the orchestration,
 * the revision it was drawn for, the role or ticket it acts on, and for a modal opened by a click,
 * that click's response_url, so the outcome of the submission can reach the clicker.
 */
export interface ControlValue {
  orchestrationId: OrchestrationId;
  revision: number;
  target?: string;
  responseUrl?: string;
}

export function encodeControlValue(value: ControlValue): string {
  return JSON.stringify(value);
}

/** Buttons drawn by earlier versions, still in people's channels, carried one-letter keys. */
interface LegacyControlValue {
  o?: unknown;
  r?: unknown;
  k?: unknown;
  u?: unknown;
}

export function decodeControlValue(raw: string | undefined): ControlValue | null {
  if (!raw) return null;
  let parsed: Partial<Record<keyof ControlValue, unknown>> & LegacyControlValue;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const orchestrationId = parseOrchestrationId(parsed.orchestrationId ?? parsed.o);
  const revision = parsed.revision ?? parsed.r;
  if (!orchestrationId || typeof revision !== 'number') return null;
  const target = parsed.target ?? parsed.k;
  const responseUrl = parsed.responseUrl ?? parsed.u;
  const validUrl = typeof responseUrl === 'string' && /^https?:\/\//.test(responseUrl) && responseUrl.length <= 1000;
  return {
    orchestrationId,
    revision,
    ...(typeof target === 'string' ? { target } : {}),
    ...(validUrl ? { responseUrl } : {}),
  };
}
