/**
 * The changes approvers make to the roster: editing an agent's title, persona and skills, and
 * retiring it. Each is one conditional update on the version the person saw, so that a click or a
 * form drawn before someone else's change (or a double click) changes nothing, and says why.
 */
import type { AgentDoc } from '../../models/agent.js';
import { Agent } from '../../models/agent.js';

export interface AgentFields {
  title: string;
  persona: string;
  skills: string[];
}

export type AgentChange =
  | { ok: true; agent: AgentDoc }
  | { ok: false; why: 'missing' }
  | { ok: false; why: 'retired' | 'changed'; agent: AgentDoc };

/** Agents stored before versions existed have none, which counts as 0. */
const atVersion = (version: number) => (version === 0 ? { $in: [0, null] } : version);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The agent as it stands, and the version it was at, for a click that came too late. */
async function whyUnchanged(agentId: string): Promise<AgentChange> {
  const agent = await Agent.findById(agentId).lean<AgentDoc>();
  if (!agent) return { ok: false, why: 'missing' };
  return { ok: false, why: agent.retiredAt ? 'retired' : 'changed', agent };
}

/** The agent at the version a button or form was drawn for, still serving; or why not. */
export async function agentAt(agentId: string, version: number): Promise<AgentChange> {
  const agent = await Agent.findOne({ _id: agentId, retiredAt: null, version: atVersion(version) }).lean<AgentDoc>();
  return agent ? { ok: true, agent } : whyUnchanged(agentId);
}

export async function editAgent(
  agentId: string,
  version: number,
  fields: AgentFields,
  by: string,
): Promise<AgentChange> {
  const agent = await Agent.findOneAndUpdate(
    { _id: agentId, retiredAt: null, version: atVersion(version) },
    {
      $set: { ...fields, editedBy: by, editedAt: new Date(), version: version + 1 },
    },
    { returnDocument: 'after' },
  ).lean<AgentDoc>();
  return agent ? { ok: true, agent } : whyUnchanged(agentId);
}

/**
 * Retires the agent and every namesake still serving: the roster shows one agent per name, so an
 * older hire of the same name would otherwise take its place.
 */
export async function retireAgent(agentId: string, version: number, by: string): Promise<AgentChange> {
  const retired = { retiredAt: new Date(), retiredBy: by };
  const agent = await Agent.findOneAndUpdate(
    { _id: agentId, retiredAt: null, version: atVersion(version) },
    { $set: { ...retired, version: version + 1 } },
    { returnDocument: 'after' },
  ).lean<AgentDoc>();
  if (!agent) return whyUnchanged(agentId);
  await Agent.updateMany(
    { _id: { $ne: agent._id }, name: { $regex: `^${escapeRegExp(agent.name)}$`, $options: 'i' }, retiredAt: null },
    { $set: retired, $inc: { version: 1 } },
  );
  return { ok: true, agent };
}
