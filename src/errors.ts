/**
 * Every error class the app throws on purpose, in one place, each with a stable `code`. Code that
 * sorts errors (retry it? tell the user? stop the app?) matches on the code with `hasCode`, so a
 * class can move or be wrapped without breaking the sorting.
 */

export const ErrorCodes = {
  Config: 'config',
  UnknownPrice: 'unknown_price',
  BudgetExceeded: 'budget_exceeded',
  OrchestrationClosed: 'orchestration_closed',
  LlmCall: 'llm_call',
  Planning: 'planning',
  StepFailure: 'step_failure',
  Scaffold: 'scaffold',
  Edit: 'edit',
  Materialize: 'materialize',
  IllegalTransition: 'illegal_transition',
  SlackUnavailable: 'slack_unavailable',
  TenantScope: 'tenant_scope',
  NotInstalled: 'not_installed',
  EmbeddedDatabase: 'embedded_database',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export abstract class OrchestrateError extends Error {
  abstract readonly code: ErrorCode;
}

/** Whether `error` is one of ours with `code`, narrowing it to that class. */
export function hasCode<C extends ErrorCode>(error: unknown, code: C): error is Extract<AppError, { code: C }> {
  return error instanceof OrchestrateError && error.code === code;
}

/** A missing or wrong setting: the app stops with this one line. */
export class ConfigError extends OrchestrateError {
  override name = 'ConfigError';
  readonly code = ErrorCodes.Config;
}

export class UnknownPriceError extends OrchestrateError {
  override name = 'UnknownPriceError';
  readonly code = ErrorCodes.UnknownPrice;
  constructor(readonly model: string) {
    super(
      `No price is known for model "${model}". Add it to ORCHESTRATE_PRICES, e.g. ` +
        `{"${model}":{"inputPerMTok":1,"outputPerMTok":2}}, so that budgets can be enforced.`,
    );
  }
}

/** The next call could never fit under the cap, even with no other call in flight. */
export class BudgetExceededError extends OrchestrateError {
  override name = 'BudgetExceededError';
  readonly code = ErrorCodes.BudgetExceeded;
  constructor(readonly neededUsd: number) {
    super('budget exceeded');
  }
}

/** The orchestration ended (cancelled or failed) while a call waited: nothing is spent. */
export class OrchestrationClosedError extends OrchestrateError {
  override name = 'OrchestrationClosedError';
  readonly code = ErrorCodes.OrchestrationClosed;
}

/** A failed LLM call, classified: transient ones are worth another (budgeted) attempt. */
export class LlmCallError extends OrchestrateError {
  override name = 'LlmCallError';
  readonly code = ErrorCodes.LlmCall;
  constructor(
    message: string,
    readonly transient: boolean,
    readonly aborted = false,
  ) {
    super(message);
  }
}

/** The CEO agent's plan broke the contract even after a repair attempt. */
export class PlanningError extends OrchestrateError {
  override name = 'PlanningError';
  readonly code = ErrorCodes.Planning;
  constructor(
    message: string,
    readonly violations: string[],
  ) {
    super(message);
  }
}

/** Why a step ended without a result, in words a user can read. */
export class StepFailure extends OrchestrateError {
  override name = 'StepFailure';
  readonly code = ErrorCodes.StepFailure;
}

export class ScaffoldError extends OrchestrateError {
  override name = 'ScaffoldError';
  readonly code = ErrorCodes.Scaffold;
}

/** An edit a reviewer asked for that the plan cannot take; the message says why. */
export class EditError extends OrchestrateError {
  override name = 'EditError';
  readonly code = ErrorCodes.Edit;
}

export class MaterializeError extends OrchestrateError {
  override name = 'MaterializeError';
  readonly code = ErrorCodes.Materialize;
}

export class IllegalTransitionError extends OrchestrateError {
  override name = 'IllegalTransitionError';
  readonly code = ErrorCodes.IllegalTransition;
}

/** Slack was unreachable, or rate limiting past the client's retry window: the job is worth retrying. */
export class SlackUnavailableError extends OrchestrateError {
  override name = 'SlackUnavailableError';
  readonly code = ErrorCodes.SlackUnavailable;
}

/** A document of one workspace was about to be written or read under another's scope. */
export class TenantScopeError extends OrchestrateError {
  override name = 'TenantScopeError';
  readonly code = ErrorCodes.TenantScope;
}

/** The app has no installation (uninstalled, or its token revoked) in the workspace a call is for. */
export class NotInstalledError extends OrchestrateError {
  override name = 'NotInstalledError';
  readonly code = ErrorCodes.NotInstalled;
  constructor(where: string) {
    super(`Orchestrate is not installed in ${where}: install it again at /slack/install`);
  }
}

/** The embedded database (used when MONGODB_URI is unset) could not start: the app stops with this one line. */
export class EmbeddedDatabaseError extends OrchestrateError {
  override name = 'EmbeddedDatabaseError';
  readonly code = ErrorCodes.EmbeddedDatabase;
}

export type AppError =
  | ConfigError
  | UnknownPriceError
  | BudgetExceededError
  | OrchestrationClosedError
  | LlmCallError
  | PlanningError
  | StepFailure
  | ScaffoldError
  | EditError
  | MaterializeError
  | IllegalTransitionError
  | SlackUnavailableError
  | TenantScopeError
  | NotInstalledError
  | EmbeddedDatabaseError;

/** The short form of any error for a log line or a user note: Slack's error code, else the message. */
export function describeError(error: unknown): string {
  const e = error as { data?: { error?: string }; message?: string };
  return e?.data?.error ?? e?.message ?? String(error);
}
