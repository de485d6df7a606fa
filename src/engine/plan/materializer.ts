/**
 * The materializer: a pure function from an approved proposal to the pipeline that will run.
 * No LLM, no I/O, no clock: the same input always gives the same steps in the same order,
 * so what was approved is exactly what runs, and the stored pipeline explains the run.
 */
import { MaterializeError } from '../../errors.js';
import { longestChain, topologicalOrder } from './dag.js';
import type { DeclaredOutput } from './outputs.js';
import type { Proposal } from './proposal.js';

export type StepKind = 'research' | 'discuss' | 'people' | 'ticket' | 'synthesis' | 'done';

/** The discussion is followed by a pause for people unless the plan turned it off. */
export const pausesForPeople = (p: Proposal) => p.discussion.enabled && p.discussion.pauseForPeople !== false;

export interface ResolvedRole {
  agentId: string;
  name: string;
  title: string;
  persona: string;
}

export interface PipelineStep {
  key: string;
  kind: StepKind;
  title: string;
  roleKey: string | null;
  agentId: string | null;
  ticketKey: string | null;
  dependsOn: string[];
  /** What a ticket declared it will produce; absent for prose. */
  output?: DeclaredOutput;
  /** People review the ticket's result before anything builds on it. */
  review?: true;
}

export interface Pipeline {
  orchestrationId: string;
  revision: number;
  steps: PipelineStep[];
}

export interface MaterializeInput {
  proposal: Proposal;
  revision: number;
  roles: Readonly<Record<string, ResolvedRole>>;
  ids: { orchestrationId: string };
}

export const stepKeys = {
  research: 'research',
  discuss: (roleKey: string) => `discuss_${roleKey}`,
  ticket: (ticketKey: string) => `ticket_${ticketKey}`,
  people: 'people',
  synthesis: 'synthesis',
  done: 'done',
} as const;

export function materialize({ proposal, revision, roles, ids }: MaterializeInput): Pipeline {
  const agentOf = (roleKey: string): ResolvedRole => {
    const role = roles[roleKey];
    if (!role) throw new MaterializeError(`role "${roleKey}" has no resolved agent`);
    return role;
  };
  const steps: PipelineStep[] = [];

  const researchKeys: string[] = [];
  if (proposal.research.enabled && proposal.research.role) {
    const roleKey = proposal.research.role;
    steps.push({
      key: stepKeys.research,
      kind: 'research',
      title: 'Research',
      roleKey,
      agentId: agentOf(roleKey).agentId,
      ticketKey: null,
      dependsOn: [],
    });
    researchKeys.push(stepKeys.research);
  }

  const discussKeys: string[] = [];
  if (proposal.discussion.enabled) {
    for (const role of proposal.roles) {
      const key = stepKeys.discuss(role.key);
      steps.push({
        key,
        kind: 'discuss',
        title: `Position: ${role.title}`,
        roleKey: role.key,
        agentId: agentOf(role.key).agentId,
        ticketKey: null,
        dependsOn: [...researchKeys],
      });
      discussKeys.push(key);
    }
  }

  // People weigh in once every position is posted; the work starts when they say so.
  if (discussKeys.length && pausesForPeople(proposal)) {
    steps.push({
      key: stepKeys.people,
      kind: 'people',
      title: 'People weigh in',
      roleKey: null,
      agentId: null,
      ticketKey: null,
      dependsOn: [...discussKeys],
    });
  }
  const entryDeps = discussKeys.length ? (pausesForPeople(proposal) ? [stepKeys.people] : discussKeys) : researchKeys;
  const ticketKeys = new Set(proposal.tickets.map((t) => t.key));
  const ticketStepKeys: string[] = [];
  for (const ticket of topologicalOrder(proposal.tickets)) {
    const deps = ticket.dependsOn.filter((d) => ticketKeys.has(d)).map(stepKeys.ticket);
    const key = stepKeys.ticket(ticket.key);
    steps.push({
      key,
      kind: 'ticket',
      title: ticket.title,
      roleKey: ticket.role,
      agentId: agentOf(ticket.role).agentId,
      ticketKey: ticket.key,
      dependsOn: deps.length ? deps : [...entryDeps],
      ...(ticket.output ? { output: structuredClone(ticket.output) } : {}),
      ...(ticket.review ? { review: true as const } : {}),
    });
    ticketStepKeys.push(key);
  }

  steps.push({
    key: stepKeys.synthesis,
    kind: 'synthesis',
    title: 'Synthesis',
    roleKey: proposal.synthesis.role,
    agentId: agentOf(proposal.synthesis.role).agentId,
    ticketKey: null,
    dependsOn: ticketStepKeys,
  });
  steps.push({
    key: stepKeys.done,
    kind: 'done',
    title: 'Done',
    roleKey: null,
    agentId: null,
    ticketKey: null,
    dependsOn: [stepKeys.synthesis],
  });

  return { orchestrationId: ids.orchestrationId, revision, steps };
}

/** Longest chain of LLM steps through the pipeline: what bounds the wall time of a run. */
export function criticalPathLength(pipeline: Pipeline): number {
  return longestChain(pipeline.steps, (step) => (isLlmStep(step.kind) ? 1 : 0));
}

/** The steps that make an LLM call: not the pause for people, not the closing step. */
export const isLlmStep = (kind: StepKind) => kind !== 'done' && kind !== 'people';
