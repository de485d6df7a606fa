/**
 * Applies an approved proposal: records hires in the roster, forms the team, files the project
 * and its tickets, and creates the run with its steps from the materialized pipeline. Every
 * phase looks for what a previous, interrupted attempt made before making it, so a retry after
 * a crash creates no duplicates. What can be read or written at once is (the start of a run is
 * on its critical path): the lookups together, the hires together, the tickets and the steps in
 * one write each.
 */
import type { Types } from 'mongoose';
import { ScaffoldError } from '../../errors.js';
import { Agent, type AgentDoc } from '../../models/agent.js';
import type { OrchestrationDoc } from '../../models/orchestration.js';
import { Project } from '../../models/project.js';
import { Run, type RunDoc, Step } from '../../models/run.js';
import { Team } from '../../models/team.js';
import { TicketModel } from '../../models/ticket.js';
import { materialize, type ResolvedRole } from '../plan/materializer.js';
import type { Proposal } from '../plan/proposal.js';
import { rosterAgents } from './roster.js';

export interface Scaffolding {
  run: RunDoc;
  roles: Record<string, ResolvedRole>;
  teamName: string;
  hired: Set<string>;
}

export async function resolveRoles(
  orchestrationId: Types.ObjectId,
  proposal: Proposal,
): Promise<{ roles: Record<string, ResolvedRole>; hired: Set<string> }> {
  // A plan approved before one of its agents was retired still runs with that agent.
  const roster = await rosterAgents({ includeRetired: true });
  const byName = new Map(roster.map((a) => [a.name.toLowerCase(), a]));
  const roles: Record<string, ResolvedRole> = {};
  const hired = new Set<string>();
  const agents = await Promise.all(
    proposal.roles.map(async (role): Promise<AgentDoc> => {
      if (!role.hire) {
        const agent = byName.get((role.existingAgent ?? '').trim().toLowerCase());
        if (!agent)
          throw new ScaffoldError(`the agent "${role.existingAgent}" for ${role.title} is no longer in the roster`);
        return agent;
      }
      hired.add(role.key);
      const agent = await Agent.findOne({
        'hiredFor.orchestrationId': orchestrationId,
        'hiredFor.roleKey': role.key,
      }).lean<AgentDoc>();
      return (
        agent ??
        (
          await Agent.create({
            name: role.hire.name,
            title: role.title,
            persona: role.hire.persona,
            skills: role.hire.skills,
            origin: 'hire',
            hiredFor: { orchestrationId, roleKey: role.key },
          })
        ).toObject()
      );
    }),
  );
  for (const [i, role] of proposal.roles.entries()) {
    const agent = agents[i]!;
    roles[role.key] = { agentId: String(agent._id), name: agent.name, title: role.title, persona: agent.persona };
  }
  return { roles, hired };
}

export async function scaffold(doc: OrchestrationDoc): Promise<Scaffolding> {
  const proposal = doc.proposal;
  if (!proposal || doc.approvedRevision === null) throw new ScaffoldError('the orchestration has no approved proposal');
  const [{ roles, hired }, teamFound, projectFound, runFound, ticketsFound] = await Promise.all([
    resolveRoles(doc._id, proposal),
    Team.findOne({ orchestrationId: doc._id }).lean(),
    Project.findOne({ orchestrationId: doc._id }).lean(),
    Run.findOne({ orchestrationId: doc._id }).lean<RunDoc>(),
    TicketModel.find({ orchestrationId: doc._id }, { key: 1 }).lean(),
  ]);
  const lead = roles[proposal.synthesis.role]!;
  const teamName = `${lead.name}'s crew`;

  const team =
    teamFound ??
    (
      await Team.create({
        orchestrationId: doc._id,
        name: teamName,
        channelId: doc.channelId,
        leadAgentId: lead.agentId,
        members: proposal.roles.map((r) => ({ roleKey: r.key, agentId: roles[r.key]!.agentId })),
      })
    ).toObject();

  const project =
    projectFound ??
    (
      await Project.create({ orchestrationId: doc._id, teamId: team._id, name: doc.goal.slice(0, 120), goal: doc.goal })
    ).toObject();

  const filed = new Set(ticketsFound.map((t) => t.key));
  const tickets = proposal.tickets
    .filter((ticket) => !filed.has(ticket.key))
    .map((ticket) => ({
      orchestrationId: doc._id,
      projectId: project._id,
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
  const [run] = await Promise.all([
    runFound ??
      Run.create({
        orchestrationId: doc._id,
        teamId: team._id,
        projectId: project._id,
        pipeline,
        startedAt: new Date(),
      }).then((created) => created.toObject<RunDoc>()),
    tickets.length ? TicketModel.insertMany(tickets) : null,
  ]);

  const existing = new Set(runFound ? (await Step.find({ runId: run._id }, { key: 1 }).lean()).map((s) => s.key) : []);
  const steps = [...pipeline.steps.entries()]
    .filter(([, step]) => !existing.has(step.key))
    .map(([order, step]) => ({
      runId: run._id,
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
    }));
  // In the pipeline's order, in one write; a crash part-way leaves the first ones, and a retry adds the rest.
  if (steps.length) await Step.insertMany(steps);
  return { run, roles, hired, teamName: team.name };
}
