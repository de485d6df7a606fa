/**
 * Validation beyond the shape: the rules a well-formed proposal must also keep
 * (XOR of agent and hire, unique keys, references that resolve, an acyclic DAG, size caps, tools
 * that exist and models people may pick).
 * Violations are plain sentences, because they go back to the LLM for repair and to people.
 */
import { roleKit, type ToolChoice } from './choices.js';
import { findCycle } from './dag.js';
import { declarationViolations, FIELD_REFERENCE, FIELDS_MAX_CHARS } from './outputs.js';
import { fieldLines } from './outputText.js';
import { MAX_ROLES, MAX_TICKETS, type Proposal, ProposalSchema } from './proposal.js';

export type ValidationResult =
  | { ok: true; proposal: Proposal; violations: [] }
  | { ok: false; proposal: null; violations: string[] };

export interface ValidationContext {
  /** Names of the agents in the roster; an `existingAgent` must be one of them. */
  rosterNames?: readonly string[];
  /** The tools that exist; a role's tools must be among them. Unchecked when absent. */
  tools?: readonly ToolChoice[];
  /** The models people may pick (the default first); a role's model must be one of them. Unchecked when absent. */
  models?: readonly string[];
}

export function validateProposal(input: unknown, context: ValidationContext = {}): ValidationResult {
  const parsed = ProposalSchema.safeParse(input);
  if (!parsed.success) {
    const violations = parsed.error.issues.map((issue) => {
      const path = issue.path.length ? issue.path.join('.') : '(root)';
      return `${path}: ${issue.message}`;
    });
    return { ok: false, proposal: null, violations };
  }
  const violations = semanticViolations(parsed.data, context);
  if (violations.length) return { ok: false, proposal: null, violations };
  return { ok: true, proposal: withRosterNames(parsed.data, context.rosterNames), violations: [] };
}

/** An existing agent is named as the roster spells it, so that what was matched loosely is found exactly later. */
function withRosterNames(p: Proposal, rosterNames: readonly string[] | undefined): Proposal {
  if (!rosterNames) return p;
  const exact = new Map(rosterNames.map((n) => [n.trim().toLowerCase(), n]));
  return {
    ...p,
    roles: p.roles.map((r) =>
      r.existingAgent === null
        ? r
        : { ...r, existingAgent: exact.get(r.existingAgent.trim().toLowerCase()) ?? r.existingAgent },
    ),
  };
}

export function semanticViolations(p: Proposal, context: ValidationContext = {}): string[] {
  const out: string[] = [];
  if (p.roles.length > MAX_ROLES) out.push(`roles: at most ${MAX_ROLES} roles, got ${p.roles.length}`);
  if (p.tickets.length > MAX_TICKETS) out.push(`tickets: at most ${MAX_TICKETS} tickets, got ${p.tickets.length}`);

  const roleKeys = new Set<string>();
  const roster = context.rosterNames ? new Set(context.rosterNames.map((n) => n.trim().toLowerCase())) : null;
  p.roles.forEach((role, i) => {
    if (roleKeys.has(role.key)) out.push(`roles[${i}].key: "${role.key}" is used by more than one role`);
    roleKeys.add(role.key);
    const hasAgent = role.existingAgent !== null && role.existingAgent.trim() !== '';
    const hasHire = role.hire !== null;
    if (hasAgent === hasHire) {
      out.push(`roles[${i}] ("${role.key}"): set exactly one of existingAgent or hire`);
    } else if (hasAgent && roster && !roster.has(role.existingAgent!.trim().toLowerCase())) {
      out.push(`roles[${i}] ("${role.key}"): existingAgent "${role.existingAgent}" is not in the roster; hire instead`);
    }
  });

  out.push(...kitViolations(p, context));

  const ticketKeys = new Set<string>();
  p.tickets.forEach((t, i) => {
    if (ticketKeys.has(t.key)) out.push(`tickets[${i}].key: "${t.key}" is used by more than one ticket`);
    ticketKeys.add(t.key);
  });
  p.tickets.forEach((t, i) => {
    if (!roleKeys.has(t.role)) out.push(`tickets[${i}] ("${t.key}"): role "${t.role}" is not one of the roles`);
    const seen = new Set<string>();
    for (const dep of t.dependsOn) {
      if (dep === t.key) out.push(`tickets[${i}] ("${t.key}"): depends on itself`);
      else if (!ticketKeys.has(dep)) out.push(`tickets[${i}] ("${t.key}"): depends on unknown ticket "${dep}"`);
      if (seen.has(dep)) out.push(`tickets[${i}] ("${t.key}"): lists dependency "${dep}" twice`);
      seen.add(dep);
    }
  });

  out.push(...outputViolations(p));

  const cycle = findCycle(p.tickets);
  if (cycle) out.push(`tickets: dependency cycle ${cycle.join(' → ')}`);

  if (p.research.enabled) {
    if (p.research.role === null) out.push('research.role: research is enabled but has no role');
    else if (!roleKeys.has(p.research.role)) out.push(`research.role: "${p.research.role}" is not one of the roles`);
    if (!p.research.prompt.trim()) out.push('research.prompt: research is enabled but has no prompt');
  } else if (p.research.role !== null && !roleKeys.has(p.research.role)) {
    out.push(`research.role: "${p.research.role}" is not one of the roles`);
  }
  if (p.discussion.enabled && !p.discussion.prompt.trim()) {
    out.push('discussion.prompt: discussion is enabled but has no prompt');
  }
  if (!roleKeys.has(p.synthesis.role)) out.push(`synthesis.role: "${p.synthesis.role}" is not one of the roles`);
  return out;
}

/** Each role's tools and model against what exists; what is not checked (no list given) passes. */
export function kitViolations(p: Proposal, context: Pick<ValidationContext, 'tools' | 'models'>): string[] {
  const out: string[] = [];
  const tools = context.tools ? new Set(context.tools.map((t) => t.name)) : null;
  const models = context.models ?? null;
  p.roles.forEach((role, i) => {
    const kit = roleKit(role);
    const where = `roles[${i}] ("${role.key}")`;
    const seen = new Set<string>();
    for (const tool of kit.tools) {
      if (seen.has(tool)) out.push(`${where}: lists tool "${tool}" twice`);
      seen.add(tool);
      if (tools && !tools.has(tool)) {
        out.push(
          tools.size
            ? `${where}: tool "${tool}" is not one of the available tools`
            : `${where}: tool "${tool}" is not available; no tools are, so give every role tools: []`,
        );
      }
    }
    if (models && kit.model !== null && !models.includes(kit.model)) {
      out.push(
        `${where}: model "${kit.model}" cannot be chosen; use null (the default) or one of ${models.join(', ')}`,
      );
    }
  });
  return out;
}

/**
 * Each declared output keeps its own rules, and a ticket builds only on fields that the tickets it
 * depends on declare: a dependent never waits for a field nobody promised.
 */
export function outputViolations(p: Proposal): string[] {
  const out: string[] = [];
  const byKey = new Map(p.tickets.map((t) => [t.key, t]));
  p.tickets.forEach((t, i) => {
    const where = `tickets[${i}] ("${t.key}")`;
    if (t.output) {
      out.push(...declarationViolations(t.output, where));
      // Reviewers edit the fields written out, one a line, in a text input of at most that many characters.
      const written = fieldLines(t.output).length;
      if (written > FIELDS_MAX_CHARS)
        out.push(
          `${where}: its output fields take ${written} characters written out; keep them under ${FIELDS_MAX_CHARS}`,
        );
    }
    for (const reference of t.uses ?? []) {
      const [, ticketKey, field] = FIELD_REFERENCE.exec(reference) ?? [];
      const source = byKey.get(ticketKey ?? '');
      if (!source) out.push(`${where}: uses "${reference}", but there is no ticket "${ticketKey}"`);
      else if (!t.dependsOn.includes(source.key))
        out.push(`${where}: uses "${reference}" but does not depend on "${source.key}"; add it to dependsOn`);
      else if (!source.output) out.push(`${where}: uses "${reference}", but "${source.key}" declares no output fields`);
      else if (!source.output.fields.some((f) => f.name === field)) {
        const declared = source.output.fields.map((f) => f.name).join(', ');
        out.push(
          `${where}: uses "${reference}", but "${source.key}" declares no field "${field}" (it declares ${declared})`,
        );
      }
    }
  });
  return out;
}
