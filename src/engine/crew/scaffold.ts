/**
 * Applies an approved proposal: records hires in the roster, forms the team, files the project
 * and its tickets, and creates the run with its steps from the materialized pipeline. Every
 * phase looks for what a previous, interrupted attempt made before making it, so a retry after
 * a crash creates no duplicates. What can be read or written at once is (the start of a run is
 * on its critical path): the lookups together, then the hires, the team, the project, the run,
 * the tickets and the steps together. A crash may cut that round part-way, so the team, the
 * project and the run take their orchestration's id as their own, and a hire an id derived from
 * it: a retry makes the missing ones with the ids that those already made refer to. The first
 * attempt knows there is nothing to look for, and may claim the steps ready at once in the write
 * that makes them, for the start job to run without a claim of its own.
 */
import { createHash } from 'node:crypto';
import mongoose, { type Types } from 'mongoose';
import { ScaffoldError } from '../../errors.js';
import { Agent, type AgentDoc } from '../../models/agent.js';
import { insertPlain } from '../../models/insertPlain.js';
import type { OrchestrationDoc } from '../../models/orchestration.js';
import { Project } from '../../models/project.js';
import { Run, type RunDoc, Step, type StepDoc } from '../../models/run.js';
import { Team, type TeamDoc } from '../../models/team.js';
import { TicketModel } from '../../models/ticket.js';
import type { AgentPersona } from '../llm/prompts.js';
import { materialize, type ResolvedRole } from '../plan/materializer.js';
import type { Proposal } from '../plan/proposal.js';
import { rosterAgents } from './roster.js';

/** A hire's fields, as recorded in the roster. */
type HireFields = Pick<AgentDoc, '_id' | 'name' | 'title' | 'persona' | 'skills' | 'origin' | 'hiredFor'>;

export interface Scaffolding {
  run: RunDoc;
  /** The steps made now, in the pipeline's order. */
  steps: StepDoc[];
  /** Those of them made claimed by `claimant` (see ScaffoldOptions). */
  claimed: StepDoc[];
  roles: Record<string, ResolvedRole>;
  /** Each role's agent as recorded (by agent id): the first steps' prompts need not read it back. */
  agents: ReadonlyMap<string, AgentPersona>;
  teamName: string;
  hired: Set<string>;
}

/**
 * A hire's id, from what it was hired for: the team and tickets made in the same round refer to it,
 * and a retry after a crash that cut the round part-way makes the hire with the id they refer to.
 */
function hireIdOf(orchestrationId: Types.ObjectId, roleKey: string): Types.ObjectId {
  const digest = createHash('sha256')
    .update(`${String(orchestrationId)}:${roleKey}`)
    .digest('hex');
  return new mongoose.Types.ObjectId(digest.slice(0, 24));
}

export interface ScaffoldOptions {
  /** No earlier attempt made any of it: nothing is looked for. */
  first?: boolean;
  /** With `first`: the steps ready at once are made claimed by this job, under a lease of `leaseMs`. */
  claimant?: string | null;
  leaseMs?: number;
}

/** Each role's agent: from the roster, hired before (by an interrupted attempt), or to be hired now. */
async function resolveRoles(
  orchestrationId: Types.ObjectId,
  proposal: Proposal,
  first: boolean,
): Promise<{
  roles: Record<string, ResolvedRole>;
  agents: Map<string, AgentPersona>;
  hired: Set<string>;
  toHire: HireFields[];
}> {
  const hires = proposal.roles.filter((role) => role.hire);
  // A plan approved before one of its agents was retired still runs with that agent. The roster is
  // read only for a plan that names one of its agents (it is up to hundreds, each with a persona).
  const [roster, madeBefore] = await Promise.all([
    hires.length < proposal.roles.length ? rosterAgents({ includeRetired: true }) : [],
    hires.length && !first ? Agent.find({ 'hiredFor.orchestrationId': orchestrationId }).lean<AgentDoc[]>() : [],
  ]);
  const byName = new Map(roster.map((a) => [a.name.toLowerCase(), a]));
  const hiredBefore = new Map(madeBefore.map((a) => [a.hiredFor?.roleKey, a]));
  const roles: Record<string, ResolvedRole> = {};
  const agents = new Map<string, AgentPersona>();
  const toHire: HireFields[] = [];
  for (const role of proposal.roles) {
    let agent: Pick<AgentDoc, '_id' | 'name' | 'title' | 'persona'> | undefined;
    if (!role.hire) {
      agent = byName.get((role.existingAgent ?? '').trim().toLowerCase());
      if (!agent)
        throw new ScaffoldError(`the agent "${role.existingAgent}" for ${role.title} is no longer in the roster`);
    } else {
      agent = hiredBefore.get(role.key);
      if (!agent) {
        const hire = {
          _id: hireIdOf(orchestrationId, role.key),
          name: role.hire.name,
          title: role.title,
          persona: role.hire.persona,
          skills: role.hire.skills,
          origin: 'hire' as const,
          hiredFor: { orchestrationId, roleKey: role.key },
        };
        toHire.push(hire);
        agent = hire;
      }
    }
    roles[role.key] = { agentId: String(agent._id), name: agent.name, title: role.title, persona: agent.persona };
    agents.set(String(agent._id), { name: agent.name, title: agent.title, persona: agent.persona });
  }
  return { roles, agents, hired: new Set(hires.map((role) => role.key)), toHire };
}

export async function scaffold(doc: OrchestrationDoc, options: ScaffoldOptions = {}): Promise<Scaffolding> {
  const proposal = doc.proposal;
  if (!proposal || doc.approvedRevision === null) throw new ScaffoldError('the orchestration has no approved proposal');
  const first = options.first === true;
  const find = <T>(lookup: () => PromiseLike<T>, none: T) => (first ? none : lookup());
  const [{ roles, agents, hired, toHire }, teamFound, projectFound, runFound, ticketsFound, stepsFound] =
    await Promise.all([
      resolveRoles(doc._id, proposal, first),
      find(() => Team.findOne({ orchestrationId: doc._id }).lean(), null),
      find(() => Project.findOne({ orchestrationId: doc._id }).lean(), null),
      find(() => Run.findOne({ orchestrationId: doc._id }).lean<RunDoc>(), null),
      find(() => TicketModel.find({ orchestrationId: doc._id }, { key: 1 }).lean(), []),
      find(() => Step.find({ orchestrationId: doc._id }, { key: 1, runId: 1 }).lean(), []),
    ]);
  const lead = roles[proposal.synthesis.role]!;
  // Made by an earlier attempt (perhaps before these took the orchestration's id), or made now.
  const teamId = teamFound?._id ?? doc._id;
  const projectId = projectFound?._id ?? doc._id;
  const runId = runFound?._id ?? doc._id;

  const filed = new Set(ticketsFound.map((t) => t.key));
  const tickets = proposal.tickets
    .filter((ticket) => !filed.has(ticket.key))
    .map((ticket) => ({
      orchestrationId: doc._id,
      projectId,
      key: ticket.key,
      title: ticket.title,
      description: ticket.description,
      roleKey: ticket.role,
      agentId: roles[ticket.role]!.agentId,
      dependsOn: ticket.dependsOn,
    }));

  const pipeline = materialize({
    proposal,
    revision: doc.approvedRevision,
    roles,
    ids: { orchestrationId: String(doc._id) },
  });
  const now = new Date();
  const claim =
    first && options.claimant
      ? {
          status: 'running' as const,
          claimedBy: options.claimant,
          startedAt: now,
          leaseUntil: new Date(now.getTime() + (options.leaseMs ?? 0)),
          attempts: 1,
        }
      : null;
  const existing = new Set(stepsFound.filter((s) => String(s.runId) === String(runId)).map((s) => s.key));
  const steps = [...pipeline.steps.entries()]
    .filter(([, step]) => !existing.has(step.key))
    .map(([order, step]) => ({
      runId,
      orchestrationId: doc._id,
      key: step.key,
      kind: step.kind,
      title: step.title,
      roleKey: step.roleKey,
      agentId: step.agentId,
      ticketKey: step.ticketKey,
      dependsOn: step.dependsOn,
      declaredOutput: step.output ?? null,
      reviewGate: step.review === true,
      order,
      ...(claim && step.dependsOn.length === 0 ? claim : {}),
    }));

  const [team, , run, , , made] = await Promise.all([
    teamFound ??
      insertPlain(Team, [
        {
          _id: teamId,
          orchestrationId: doc._id,
          name: `${lead.name}'s crew`,
          channelId: doc.channelId,
          leadAgentId: lead.agentId,
          members: proposal.roles.map((r) => ({ roleKey: r.key, agentId: roles[r.key]!.agentId })),
        },
      ]).then(([created]) => created as TeamDoc),
    projectFound ??
      insertPlain(Project, [
        { _id: projectId, orchestrationId: doc._id, teamId, name: doc.goal.slice(0, 120), goal: doc.goal },
      ]),
    runFound ??
      insertPlain(Run, [
        { _id: runId, orchestrationId: doc._id, teamId, projectId, pipeline, startedAt: new Date() },
      ]).then(([created]) => created as RunDoc),
    toHire.length ? insertPlain(Agent, toHire) : null,
    tickets.length ? insertPlain(TicketModel, tickets) : null,
    // In the pipeline's order, in one write; a crash part-way leaves the first ones, and a retry adds the rest.
    steps.length ? (insertPlain(Step, steps) as Promise<StepDoc[]>) : [],
  ]);
  const claimed = claim ? made.filter((s) => s.claimedBy === options.claimant) : [];
  return { run, steps: made, claimed, roles, agents, hired, teamName: team.name };
}
