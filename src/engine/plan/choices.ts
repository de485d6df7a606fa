/**
 * What a role may be given beyond its agent: the tools that exist and the models people may pick.
 * Both are facts of the running app (the tool catalog built at start, ORCHESTRATE_MODELS), handed to
 * the plan layer as plain data so that validation, the CEO agent's prompt and the modal agree.
 */
import type { Proposal, Role } from './proposal.js';

/** A tool an agent can be given: its name, as the plan names it, and one line saying what it does. */
export interface ToolChoice {
  name: string;
  summary: string;
}

export interface PlanChoices {
  tools: readonly ToolChoice[];
  /** The models people may pick per role, the default model (LLM_MODEL) first. */
  models: readonly string[];
}

/** A role's tools and model; `model` null means the default model. */
export interface RoleKit {
  tools: string[];
  model: string | null;
}

/**
 * Read through here, never from the role directly: proposals stored before roles had tools and a
 * model are loaded as they were written, without either, and mean no tools on the default model.
 */
export function roleKit(role: Pick<Role, 'tools' | 'model'>): RoleKit {
  const stored = role as Partial<RoleKit>;
  return { tools: stored.tools ?? [], model: stored.model ?? null };
}

/** The kit of the role that runs a step (none for a step without a role, or a role no longer in the plan). */
export function roleKitOf(proposal: Proposal, roleKey: string | null): RoleKit {
  const role = roleKey === null ? undefined : proposal.roles.find((r) => r.key === roleKey);
  return role ? roleKit(role) : { tools: [], model: null };
}
