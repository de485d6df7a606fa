/**
 * The orchestration state machine as data: the statuses, which are open or final, and the legal
 * moves. Pure; run/transition.ts applies a move to the stored document.
 */
export const ORCHESTRATION_STATUSES = [
  'planning',
  'proposed',
  'approved',
  'executing',
  'synthesizing',
  'completed',
  'failed',
  'cancelled',
] as const;
export type OrchestrationStatus = (typeof ORCHESTRATION_STATUSES)[number];

export const FINAL_STATUSES: readonly OrchestrationStatus[] = ['completed', 'failed', 'cancelled'];
export const ACTIVE_STATUSES: readonly OrchestrationStatus[] = [
  'planning',
  'proposed',
  'approved',
  'executing',
  'synthesizing',
];
/** A run exists (or is being set up) and its steps may be scheduled. */
export const RUNNING_STATUSES: readonly OrchestrationStatus[] = ['approved', 'executing', 'synthesizing'];

export const ALLOWED_TRANSITIONS: Record<OrchestrationStatus, readonly OrchestrationStatus[]> = {
  planning: ['proposed', 'failed', 'cancelled'],
  proposed: ['approved', 'cancelled', 'failed'],
  approved: ['executing', 'failed', 'cancelled'],
  executing: ['synthesizing', 'failed', 'cancelled'],
  synthesizing: ['completed', 'failed', 'cancelled'],
  // A finished run comes back when people re-run one of its steps (guarded by the stored re-run
  // request), or, stopped by its budget, when its cap is raised (guarded by budgetStop).
  completed: ['executing'],
  failed: ['executing'],
  cancelled: [],
};

export function isFinal(status: OrchestrationStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

export const STEP_STATUSES = ['pending', 'queued', 'running', 'succeeded', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
export const SETTLED_STEP_STATUSES: readonly StepStatus[] = ['succeeded', 'failed', 'skipped'];

/** How a step's state reads to people (the run card, the timeline): waiting covers pending and queued. */
export type StepShownState = 'waiting' | 'running' | 'done' | 'failed' | 'skipped';
export const SHOWN_STEP_STATE: Record<StepStatus, StepShownState> = {
  pending: 'waiting',
  queued: 'waiting',
  running: 'running',
  succeeded: 'done',
  failed: 'failed',
  skipped: 'skipped',
};
