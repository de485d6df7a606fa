/**
 * Applies an approved proposal: records hires in the roster, forms the team, files the project
 * and its tickets, and creates the run with its steps from the materialized pipeline. Every
 * phase looks for what a previous, interrupted attempt made before making it, so a retry after
 * a crash creates no duplicates.
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
  for (const role of proposal.roles) {
    let agent: AgentDoc | null;
    if (role.hire) {
      agent = await Agent.findOne({
        'hiredFor.orchestrationId': orchestrationId,
        'hiredFor.roleKey': role.key,
      }).lean<AgentDoc>();
      agent ??= (
        await Agent.create({
          name: role.hire.name,
          title: role.title,
          persona: role.hire.persona,
          skills: role.hire.skills,
          origin: 'hire',
          hiredFor: { orchestrationId, roleKey: role.key },
        })
      ).toObject();
      hired.add(role.key);
    } else {
      agent = byName.get((role.existingAgent ?? '').trim().toLowerCase()) ?? null;
      if (!agent)
        throw new ScaffoldError(`the agent "${role.existingAgent}" for ${role.title} is no longer in the roster`);
    }
    roles[role.key] = { agentId: String(agent._id), name: agent.name, title: role.title, persona: agent.persona };
  }
  return { roles, hired };
}

export async function scaffold(doc: OrchestrationDoc): Promise<Scaffolding> {
  const proposal = doc.proposal;
  if (!proposal || doc.approvedRevision === null) throw new ScaffoldError('the orchestration has no approved proposal');
  const { roles, hired } = await resolveRoles(doc._id, proposal);
  const lead = roles[proposal.synthesis.role]!;
  const teamName = `${lead.name}'s crew`;

  const team =
    (await Team.findOne({ orchestrationId: doc._id }).lean()) ??
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
    (await Project.findOne({ orchestrationId: doc._id }).lean()) ??
    (
      await Project.create({ orchestrationId: doc._id, teamId: team._id, name: doc.goal.slice(0, 120), goal: doc.goal })
    ).toObject();

  for (const ticket of proposal.tickets) {
    const exists = await TicketModel.exists({ orchestrationId: doc._id, key: ticket.key });
    if (!exists) {
      await TicketModel.create({
        orchestrationId: doc._id,
        projectId: project._id,
        key: ticket.key,
        title: ticket.title,
        description: ticket.description,
        roleKey: ticket.role,
        agentId: roles[ticket.role]!.agentId,
        dependsOn: ticket.dependsOn,
      });
    }
  }

  const pipeline = materialize({
    proposal,
    revision: doc.approvedRevision,
    roles,
    ids: { orchestrationId: String(doc._id) },
  });
  const run =
    (await Run.findOne({ orchestrationId: doc._id }).lean<RunDoc>()) ??
    (
      await Run.create({
        orchestrationId: doc._id,
        teamId: team._id,
        projectId: project._id,
        pipeline,
        startedAt: new Date(),
      })
    ).toObject<RunDoc>();

  const existing = new Set((await Step.find({ runId: run._id }, { key: 1 }).lean()).map((s) => s.key));
  for (const [order, step] of pipeline.steps.entries()) {
    if (existing.has(step.key)) continue;
    await Step.create({
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
    });
  }
  return { run, roles, hired, teamName: team.name };
}
