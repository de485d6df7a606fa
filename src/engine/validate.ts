/**
 * Validation beyond the shape: the rules a well-formed proposal must also keep
 * (XOR of agent and hire, unique keys, references that resolve, an acyclic DAG, size caps).
 * Violations are plain sentences, because they go back to the LLM for repair and to people.
 */
import { MAX_ROLES, MAX_TICKETS, ProposalSchema, type Proposal } from './proposal.js';

export type ValidationResult =
  | { ok: true; proposal: Proposal; violations: [] }
  | { ok: false; proposal: null; violations: string[] };

export interface ValidationContext {
  /** Names of the agents in the roster; an `existingAgent` must be one of them. */
  rosterNames?: readonly string[];
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
    roles: p.roles.map((r) => (r.existingAgent === null ? r : { ...r, existingAgent: exact.get(r.existingAgent.trim().toLowerCase()) ?? r.existingAgent })),
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

/** Returns one cycle as a closed path of ticket keys, or null when the graph is a DAG. */
export function findCycle(tickets: readonly { key: string; dependsOn: readonly string[] }[]): string[] | null {
  const deps = new Map(tickets.map((t) => [t.key, t.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (key: string): string[] | null => {
    const s = state.get(key);
    if (s === 'done') return null;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(key)), key];
    state.set(key, 'visiting');
    stack.push(key);
    for (const dep of deps.get(key) ?? []) {
      if (!deps.has(dep)) continue;
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(key, 'done');
    return null;
  };
  for (const t of tickets) {
    const found = visit(t.key);
    if (found) return found;
  }
  return null;
}

/** Tickets in a stable dependency order: each after everything it depends on, ties by proposal order. */
export function topologicalOrder<T extends { key: string; dependsOn: readonly string[] }>(tickets: readonly T[]): T[] {
  const remaining = [...tickets];
  const placed = new Set<string>();
  const known = new Set(tickets.map((t) => t.key));
  const out: T[] = [];
  while (remaining.length) {
    const index = remaining.findIndex((t) => t.dependsOn.every((d) => placed.has(d) || !known.has(d)));
    // A cycle cannot be ordered; keep the rest in proposal order rather than loop forever.
    const next = index === -1 ? remaining.splice(0, 1)[0]! : remaining.splice(index, 1)[0]!;
    placed.add(next.key);
    out.push(next);
  }
  return out;
}
